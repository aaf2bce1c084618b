"""losses of the COPS project."""
