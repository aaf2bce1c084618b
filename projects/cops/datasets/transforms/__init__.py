"""Data transforms of the COPS project."""
from .cops_targets import GenerateCOPSTargets, cops_targets
from .formatting import PackCOPSInputs

__all__ = ['GenerateCOPSTargets', 'PackCOPSInputs', 'cops_targets']
