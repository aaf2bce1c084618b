"""Layers that stand in for torch's where they do not run on CPU."""
from .cpu_sync_batchnorm import CPUSyncBatchNorm

__all__ = ['CPUSyncBatchNorm']
