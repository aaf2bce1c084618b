"""Datasets and data transforms of the COPS project."""
from .transforms import *  # noqa: F401,F403
