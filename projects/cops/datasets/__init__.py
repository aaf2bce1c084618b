"""Datasets and data transforms of the COPS project."""
from .synthetic_panoptic import SyntheticPanopticDataset  # noqa: F401
from .transforms import *  # noqa: F401,F403
