"""The reliability hooks outside a training run."""
from types import SimpleNamespace

import pytest
import torch

from mmdet.registry import HOOKS
from projects.cops_runtime.engine import (FiniteLossHook, IterationSeedHook,
                                  RankMeanLogVarsHook)


def test_hooks_are_registered():
    for hook in (FiniteLossHook, IterationSeedHook, RankMeanLogVarsHook):
        assert HOOKS.get(hook.__name__) is hook


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


def test_non_finite_loss_stops_training_naming_iteration_and_terms():
    hook = FiniteLossHook()
    runner = SimpleNamespace(iter=6)
    hook.after_train_iter(
        runner, 0, outputs=dict(loss=torch.tensor(1.), loss_sem=torch.ones(1)))
    outputs = dict(
        loss=torch.tensor(float('nan')),
        loss_sem=torch.tensor(float('inf')),
        loss_boundary=torch.tensor(0.5),
        acc=torch.tensor(float('nan')))
    with pytest.raises(
            FloatingPointError,
            match=r"iteration 7: \{'loss': nan, 'loss_sem': inf\}"):
        hook.after_train_iter(runner, 0, outputs=outputs)
