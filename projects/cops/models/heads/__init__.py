"""heads of the COPS project."""
