"""Data transforms of the COPS project."""
from .cops_targets import GenerateCOPSTargets, cops_targets
from .formatting import PackCOPSInputs
from .loading import LoadCheckedImageFromFile, LoadCheckedPanopticAnnotations

__all__ = [
    'GenerateCOPSTargets', 'LoadCheckedImageFromFile',
    'LoadCheckedPanopticAnnotations', 'PackCOPSInputs', 'cops_targets'
]
