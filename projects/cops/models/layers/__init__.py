"""layers of the COPS project."""
