"""Training-loop hooks of the COPS project."""
from .iteration_seed_hook import IterationSeedHook
from .rank_mean_log_vars_hook import RankMeanLogVarsHook

__all__ = ['IterationSeedHook', 'RankMeanLogVarsHook']
