"""utils of the COPS project."""
