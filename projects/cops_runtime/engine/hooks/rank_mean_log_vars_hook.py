"""Log the loss of the whole distributed batch, not rank 0's share."""
import torch
import torch.distributed as dist
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class RankMeanLogVarsHook(Hook):
    """Average the logged loss values over the ranks of a distributed run.

    mmengine logs the ``log_vars`` returned by rank 0's ``train_step``, i.e.
    the loss of rank 0's ``batch_size`` images only. This hook replaces each
    scalar by its mean over the ranks before ``RuntimeInfoHook`` (priority
    ``VERY_HIGH``) writes it to the message hub, so an N-process run logs
    the loss of its N * ``batch_size`` images, comparable with one process
    at the N-fold batch. Values that are not scalars are left alone; in
    single-process runs the hook does nothing.
    """

    priority = 'HIGHEST'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        world_size = get_world_size()
        if world_size == 1 or not outputs:
            return
        keys = [
            key for key, value in outputs.items()
            if isinstance(value, torch.Tensor) and value.numel() == 1
        ]
        if not keys:
            return
        values = torch.stack(
            [outputs[key].detach().float().reshape(()) for key in keys])
        dist.all_reduce(values)
        for key, value in zip(keys, values / world_size):
            outputs[key] = value
