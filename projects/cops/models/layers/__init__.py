"""Layers of the COPS project: the AMWC layer (solver forward, MWC
backward)."""
from .amwc_function import AMWCFunction, AMWCSettings
from .amwc_layer import AMWCLayer

__all__ = ['AMWCFunction', 'AMWCSettings', 'AMWCLayer']
