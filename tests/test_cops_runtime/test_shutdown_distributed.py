"""tools/train.py and tools/test.py end distributed runs by destroying the group."""
import socket

import torch.distributed as dist

from projects.cops_runtime.utils import shutdown_distributed


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_shutdown_destroys_the_process_group():
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{free_port()}',
        rank=0,
        world_size=1)
    assert dist.is_initialized()
    shutdown_distributed()
    assert not dist.is_initialized()


def test_shutdown_outside_distributed_runs_does_nothing():
    assert not dist.is_initialized()
    shutdown_distributed()
    assert not dist.is_initialized()
