"""detectors of the COPS project."""
