"""Training-loop hooks."""
from .hooks import FiniteLossHook, IterationSeedHook, RankMeanLogVarsHook

__all__ = ['FiniteLossHook', 'IterationSeedHook', 'RankMeanLogVarsHook']
