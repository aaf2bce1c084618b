"""transforms of the COPS project."""
