"""Distributed set-up per machine: GPU machines keep the config's nccl,
torch ``SyncBatchNorm`` and DDP with device ids; CPU machines switch to
gloo, ``CPUSyncBN`` and DDP without device ids."""
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from projects.cops_runtime.utils import (setup_cpu_distributed,
                                         shutdown_distributed)
from projects.cops_runtime.utils.cpu_distributed import replace_norm_type

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYNC_BN_CONFIG = osp.join(REPO, 'configs/cops_r50_coco_pretrain.py')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def distributed_config():
    cfg = Config.fromfile(SYNC_BN_CONFIG)
    cfg.launcher = 'pytorch'
    return cfg


def count_norm_type(cfg, norm_type):
    # replace by itself: counts without changing anything
    return replace_norm_type(cfg.model, norm_type, norm_type)


def test_gpu_machines_keep_nccl_sync_bn_and_device_ids(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = distributed_config()
    num_sync_bn = count_norm_type(cfg, 'SyncBN')
    assert num_sync_bn > 0
    setup_cpu_distributed(cfg)
    assert count_norm_type(cfg, 'SyncBN') == num_sync_bn
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    # no wrapper config: mmengine's Runner wraps the model in DDP with
    # device_ids=[LOCAL_RANK]
    assert cfg.get('model_wrapper_cfg') is None
    assert not dist.is_initialized()


def test_cpu_machines_switch_to_gloo_cpu_sync_bn(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for name, value in (('MASTER_ADDR', '127.0.0.1'),
                        ('MASTER_PORT', str(free_port())), ('RANK', '0'),
                        ('WORLD_SIZE', '1')):
        monkeypatch.setenv(name, value)
    cfg = distributed_config()
    num_sync_bn = count_norm_type(cfg, 'SyncBN')
    try:
        setup_cpu_distributed(cfg)
        assert dist.get_backend() == 'gloo'
    finally:
        shutdown_distributed()
    assert count_norm_type(cfg, 'SyncBN') == 0
    assert count_norm_type(cfg, 'CPUSyncBN') == num_sync_bn
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cuda_ddp_step_with_torch_sync_batchnorm():
    """One nccl process: the config's SyncBN builds torch's SyncBatchNorm,
    and a DDP step with device ids runs on the GPU."""
    from mmcv.cnn import build_norm_layer
    from mmengine.model import MMDistributedDataParallel
    dist.init_process_group(
        'nccl',
        init_method=f'tcp://127.0.0.1:{free_port()}',
        rank=0,
        world_size=1)
    try:
        torch.cuda.set_device(0)
        _, norm = build_norm_layer(dict(type='SyncBN'), 4)
        assert isinstance(norm, torch.nn.SyncBatchNorm)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), norm).cuda()
        ddp = MMDistributedDataParallel(module=model, device_ids=[0])
        out = ddp(torch.randn(2, 3, 8, 8, device='cuda'))
        out.square().mean().backward()
        assert model[0].weight.grad.device.type == 'cuda'
        assert norm.num_batches_tracked.item() == 1
    finally:
        shutdown_distributed()
