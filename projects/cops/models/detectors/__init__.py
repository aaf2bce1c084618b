"""Detectors of the COPS project."""
from .cops import COPS
from .cops_end_to_end import COPSEndToEnd

__all__ = ['COPS', 'COPSEndToEnd']
