"""Detectors of the COPS project."""
from .cops import COPS

__all__ = ['COPS']
