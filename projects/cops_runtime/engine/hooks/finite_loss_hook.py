"""Stop training at the first non-finite loss, before it is checkpointed."""
import torch
from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise ``FloatingPointError`` when a logged loss is NaN or infinite.

    A diverged run otherwise keeps training and checkpointing NaN weights for
    as long as the job lives. mmdet's ``CheckInvalidLossHook`` checks with an
    ``assert`` (removed by ``python -O``) whose message is empty; this hook
    names the iteration and the offending loss terms. It runs after
    ``RankMeanLogVarsHook`` (so in distributed runs every rank sees the
    same, rank-averaged values and all stop together instead of the others
    waiting for the failed rank) and before ``CheckpointHook``, so the last
    checkpoint holds finite weights to resume from (e.g. with a lower
    learning rate).
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        invalid = {
            key: value.item()
            for key, value in (outputs or {}).items()
            if key.startswith('loss') and isinstance(value, torch.Tensor)
            and value.numel() == 1 and not torch.isfinite(value)
        }
        if invalid:
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1}: {invalid}; '
                'the last checkpoint precedes it')
