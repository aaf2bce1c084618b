"""Distributed training and testing on machines without CUDA.

mmengine 0.10 initialises ``--launcher pytorch`` jobs with
``torch.cuda.set_device`` and wraps the model in DDP with
``device_ids=[LOCAL_RANK]``; both fail on a CPU-only torch, and so does
torch's ``SyncBatchNorm``. When no GPU is visible this module starts the gloo
process group itself (mmengine then skips its own initialisation), asks for
a DDP wrapper without device ids and replaces ``SyncBN`` layers by
:class:`CPUSyncBatchNorm`, so ``tools/dist_train.sh CONFIG N`` runs N CPU
processes whose batch statistics are synchronised as the config asks.
"""
import gc

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def replace_norm_type(node, old_type: str, new_type: str) -> int:
    """Set ``type=new_type`` in every dict of ``node`` whose type is
    ``old_type`` (nested dicts and lists, in place).

    Returns:
        int: The number of replaced types.
    """
    replaced = 0
    if isinstance(node, dict):
        if node.get('type') == old_type:
            node['type'] = new_type
            replaced += 1
        for value in node.values():
            replaced += replace_norm_type(value, old_type, new_type)
    elif isinstance(node, (list, tuple)):
        for value in node:
            replaced += replace_norm_type(value, old_type, new_type)
    return replaced


def setup_cpu_distributed(cfg: Config) -> None:
    """Switch a ``launcher='pytorch'`` config to gloo + CPU DDP without GPU.

    Args:
        cfg (Config): the full config, with ``cfg.launcher`` already set. It
            is modified in place; nothing happens for other launchers or when
            CUDA is available.

    Raises:
        ValueError: if the config sets ``sync_bn`` (mmengine's conversion of
            every BN layer after building the model), which only produces
            GPU layers; ask for ``norm_cfg=dict(type='SyncBN')`` instead.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    if cfg.get('sync_bn') is not None:
        raise ValueError(
            f'sync_bn={cfg.sync_bn!r} converts BN layers to GPU-only '
            'SyncBatchNorm; on CPU set the norm_cfg of the model to '
            "dict(type='SyncBN') instead (trained as CPUSyncBN)")
    num_sync_bn = replace_norm_type(cfg.model, 'SyncBN', 'CPUSyncBN')
    if num_sync_bn:
        print_log(
            f'no GPU: {num_sync_bn} SyncBN norm config(s) of the model use '
            'CPUSyncBN (batch statistics synchronised with gloo)',
            logger='current')
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def shutdown_distributed() -> None:
    """Wait for every rank, collect what still holds the process group, then
    destroy it.

    A rank that exits while another is still working (rank 0 writing the
    last checkpoint) and with its gloo group alive can abort at interpreter
    exit ("terminate called without an active exception", SIGABRT), which
    fails the whole torchrun job. The DDP wrapper of a runner keeps the
    group alive until it is collected, so callers drop their runner first
    and it is collected here, while every rank is still connected. Called at
    the end of tools/train.py and tools/test.py; nothing happens outside
    distributed runs.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
