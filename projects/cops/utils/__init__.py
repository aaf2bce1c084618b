"""Utilities of the COPS project."""
from .checkpoint_safe_globals import register_checkpoint_safe_globals
from .cpu_distributed import setup_cpu_distributed

register_checkpoint_safe_globals()

__all__ = ['register_checkpoint_safe_globals', 'setup_cpu_distributed']
