"""Datasets and data transforms of the COPS project."""
from .checked_coco_panoptic import CheckedCocoPanopticDataset  # noqa: F401
from .cityscapes_panoptic import CityscapesPanopticDataset  # noqa: F401
from .synthetic_panoptic import SyntheticPanopticDataset  # noqa: F401
from .transforms import *  # noqa: F401,F403
