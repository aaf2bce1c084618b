"""Set-up helpers of the tools: config merge, checkpoint loading, CPU
distributed training."""
from .cfg_options import merge_cfg_options
from .checkpoint_safe_globals import register_checkpoint_safe_globals
from .cpu_distributed import setup_cpu_distributed, shutdown_distributed

__all__ = [
    'merge_cfg_options', 'register_checkpoint_safe_globals',
    'setup_cpu_distributed', 'shutdown_distributed'
]
