"""Framework-free evaluation helpers of the COPS project."""
from .panoptic_to_instances import panoptic_to_instances

__all__ = ['panoptic_to_instances']
