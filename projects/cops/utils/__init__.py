"""Utilities of the COPS project."""
from .cfg_options import merge_cfg_options
from .checkpoint_safe_globals import register_checkpoint_safe_globals
from .cpu_distributed import setup_cpu_distributed, shutdown_distributed
from .cpu_sync_batchnorm import CPUSyncBatchNorm

register_checkpoint_safe_globals()

__all__ = [
    'CPUSyncBatchNorm', 'merge_cfg_options',
    'register_checkpoint_safe_globals', 'setup_cpu_distributed',
    'shutdown_distributed'
]
