"""Layers of the COPS project: the AMWC layer (solver forward, MWC
backward)."""
from .amwc_function import AMWCFunction, AMWCSegments, AMWCSettings
from .amwc_layer import AMWCLayer
from .gradient_weight import weight_gradient

__all__ = [
    'AMWCFunction', 'AMWCSegments', 'AMWCSettings', 'AMWCLayer',
    'weight_gradient'
]
