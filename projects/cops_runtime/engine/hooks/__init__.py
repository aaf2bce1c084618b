"""Training-loop hooks: per-iteration seeding, finite-loss check, rank-averaged
loss logs."""
from .finite_loss_hook import FiniteLossHook
from .iteration_seed_hook import IterationSeedHook
from .rank_mean_log_vars_hook import RankMeanLogVarsHook

__all__ = ['FiniteLossHook', 'IterationSeedHook', 'RankMeanLogVarsHook']
