"""IterationSeedHook and RankMeanLogVarsHook outside a training run."""
from types import SimpleNamespace

import torch

from mmdet.registry import HOOKS
from projects.cops.engine import IterationSeedHook, RankMeanLogVarsHook


def test_hooks_are_registered():
    assert HOOKS.get('IterationSeedHook') is IterationSeedHook
    assert HOOKS.get('RankMeanLogVarsHook') is RankMeanLogVarsHook


def draws_at(hook, seed, iteration, consumed_before):
    torch.rand(consumed_before)
    hook.before_train_iter(SimpleNamespace(seed=seed, iter=iteration), 0)
    return torch.rand(3)


def test_iteration_seed_depends_only_on_seed_and_iteration():
    hook = IterationSeedHook()
    reference = draws_at(hook, seed=5, iteration=7, consumed_before=0)
    # a resumed run arrives with a differently advanced generator
    assert torch.equal(draws_at(hook, 5, 7, consumed_before=11), reference)
    assert not torch.equal(draws_at(hook, 5, 8, 0), reference)
    assert not torch.equal(draws_at(hook, 6, 7, 0), reference)


def test_log_vars_unchanged_in_a_single_process():
    outputs = dict(loss=torch.tensor(2.), loss_sem=torch.tensor(1.5))
    RankMeanLogVarsHook().after_train_iter(None, 0, outputs=outputs)
    assert outputs == dict(loss=torch.tensor(2.), loss_sem=torch.tensor(1.5))
