"""Distributed training and testing on machines without CUDA.

mmengine 0.10 initialises ``--launcher pytorch`` jobs with
``torch.cuda.set_device`` and wraps the model in DDP with
``device_ids=[LOCAL_RANK]``; both fail on a CPU-only torch. When no GPU is
visible this module starts the gloo process group itself (mmengine then
skips its own initialisation) and asks for a DDP wrapper without device ids,
so ``tools/dist_train.sh CONFIG N`` runs N CPU processes.
"""
import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> None:
    """Switch a ``launcher='pytorch'`` config to gloo + CPU DDP if no GPU exists.

    Args:
        cfg (Config): the full config, with ``cfg.launcher`` already set. It
            is modified in place; nothing happens for other launchers or when
            CUDA is available.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
