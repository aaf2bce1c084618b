"""Killed training resumes exactly; the same seed gives the same losses.

Both run ``tools/train.py`` on the shrunk synthetic stage-1 config (seeded,
``deterministic=True``, random augmentation and ASPP dropout on): one run of
``MAX_ITERS`` iterations uninterrupted, one SIGKILLed after its first
checkpoint and finished with ``--resume``. Checkpoints are read back with
torch's default ``weights_only=True``.
"""
import os
import os.path as osp
import signal
import subprocess
import time

import pytest
import torch
from tool_runs import (RUN_TIMEOUT, REPO, read_scalars, shrunk_config,
                       tool_env, train, train_command)

from projects.cops_runtime import register_checkpoint_safe_globals

pytestmark = pytest.mark.slow

MAX_ITERS, CHECKPOINT_INTERVAL = 6, 2


def last_checkpoint(work_dir):
    """Path in ``work_dir/last_checkpoint`` (written after a save ends)."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        return f.read().strip() or None


def wait_for(condition, proc, log_path, what):
    """Poll ``condition`` until true; fail if training ends or times out."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            with open(log_path) as f:
                pytest.fail(f'no {what} before training ended or timed '
                            f'out:\n{f.read()[-3000:]}')
        time.sleep(0.01)


def train_until_killed(config, work_dir):
    """Start training; once a checkpoint is complete and the next iteration
    is recorded (so that the kill loses work), SIGKILL it.

    Returns:
        str: The checkpoint the killed run left behind.
    """
    log_path = work_dir + '.log'
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            train_command(config, work_dir),
            cwd=REPO,
            env=tool_env(),
            stdout=log,
            stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: last_checkpoint(work_dir), proc, log_path,
                 'checkpoint')
        checkpoint_iter = int(
            osp.basename(last_checkpoint(work_dir))[len('iter_'):-4])

        wait_for(lambda: checkpoint_iter + 1 in read_scalars(work_dir), proc,
                 log_path, 'record of the next iteration')
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return last_checkpoint(work_dir)


@pytest.fixture(scope='module')
def config_file(synthetic_root, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('resume') / 'cops_tiny.py')
    shrunk_config(synthetic_root, MAX_ITERS, CHECKPOINT_INTERVAL).dump(path)
    return path


@pytest.fixture(scope='module')
def uninterrupted(config_file, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    train(config_file, work_dir)
    return work_dir


@pytest.fixture(scope='module')
def killed_and_resumed(config_file, tmp_path_factory):
    """Work dir, the killed run's checkpoint and its iteration records."""
    work_dir = str(tmp_path_factory.mktemp('killed'))
    checkpoint = train_until_killed(config_file, work_dir)
    killed_records = read_scalars(work_dir)
    train(config_file, work_dir, '--resume')
    return work_dir, checkpoint, killed_records


def load(path):
    register_checkpoint_safe_globals()
    return torch.load(path, map_location='cpu', weights_only=True)


def test_resume_after_sigkill_reproduces_the_uninterrupted_run(
        uninterrupted, killed_and_resumed):
    work_dir, checkpoint, killed_records = killed_and_resumed
    checkpoint_iter = load(checkpoint)['meta']['iter']
    assert 0 < checkpoint_iter < MAX_ITERS
    assert checkpoint_iter % CHECKPOINT_INTERVAL == 0
    # the kill lost only the iterations after the last complete checkpoint
    # (usually one: the kill follows the record of the next iteration; two
    # when it lands in the next checkpoint's save)
    lost = max(killed_records) - checkpoint_iter
    assert 0 <= lost <= CHECKPOINT_INTERVAL
    records = read_scalars(work_dir)
    assert sorted(records) == list(range(1, MAX_ITERS + 1))

    reference = load(osp.join(uninterrupted, f'iter_{MAX_ITERS}.pth'))
    resumed = load(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))
    assert resumed['meta']['iter'] == reference['meta']['iter'] == MAX_ITERS
    assert resumed['state_dict'].keys() == reference['state_dict'].keys()
    for name, weight in reference['state_dict'].items():
        assert torch.equal(resumed['state_dict'][name], weight), name
    reference_state = reference['optimizer']['state']
    for index, state in resumed['optimizer']['state'].items():
        for key, value in state.items():
            assert torch.equal(value,
                               reference_state[index][key]), (index, key)


def test_same_seed_gives_the_same_losses(uninterrupted, killed_and_resumed):
    """Two independent runs (the uninterrupted one and the killed one up
    to its kill) and the resumed part log identical losses."""
    reference = read_scalars(uninterrupted)
    work_dir, _, killed_records = killed_and_resumed
    resumed = read_scalars(work_dir)
    loss_keys = [key for key in reference[1] if key.startswith('loss')]
    assert set(loss_keys) >= {'loss', 'loss_sem', 'loss_boundary'}
    assert len(killed_records) >= CHECKPOINT_INTERVAL
    for records in (killed_records, resumed):
        for step, record in records.items():
            assert [record[key] for key in loss_keys
                    ] == [reference[step][key] for key in loss_keys], step
    losses = [reference[step]['loss'] for step in sorted(reference)]
    assert len(set(losses)) == len(losses)  # the runs really trained
