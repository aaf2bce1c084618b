"""Heads of the COPS project."""
from .affinity_head import COPSAffinityHead
from .cost_head import AMWCCostHead
from .deeplabv3plus_decoder import DeepLabV3PlusDecoder
from .semantic_head import COPSSemanticHead

__all__ = [
    'AMWCCostHead', 'COPSAffinityHead', 'COPSSemanticHead',
    'DeepLabV3PlusDecoder'
]
