"""Binary cross-entropy over the hardest pixel pairs, one term per offset
and direction, with per-pair weights."""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class TopKBoundaryBCELoss(nn.Module):
    """Sum over (offset, direction) of the weighted BCE of the hardest pairs.

    As the original COPS (``PanopticAffinityInsEmbedHead
    .compute_affinity_loss``): for each offset and direction, the per-pair
    losses ``weight * BCE(logit, target)`` of all positions of the batch's
    map (zero-weight positions included, with loss 0) are ranked, the
    largest ``int(top_k_ratio * positions)`` (at least 1) averaged and
    multiplied by ``loss_weight``; the terms are summed. So each offset and
    direction gets its own hard-pair budget and the total grows with the
    number of maps (10 terms with 5 offsets).

    Args:
        top_k_ratio (float): Fraction of positions kept per map, in (0, 1].
        loss_weight (float): Multiplier of every term.
    """

    def __init__(self,
                 top_k_ratio: float = 0.25,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0 < top_k_ratio <= 1:
            raise ValueError(f'top_k_ratio must be in (0, 1], got '
                             f'{top_k_ratio}')
        self.top_k_ratio = top_k_ratio
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor,
                weight: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): Boundary logits ``[B, D, 2, h, w]``, float.
            target (Tensor): Same shape, 1.0 where the pair is cut.
            weight (Tensor): Same shape, per-pair weight (0 = ignore).

        Returns:
            Tensor: Scalar, the sum of the ``D * 2`` terms.
        """
        if logits.shape != target.shape or logits.shape != weight.shape:
            raise ValueError(
                f'shape mismatch: logits {tuple(logits.shape)}, target '
                f'{tuple(target.shape)}, weight {tuple(weight.shape)}')
        if logits.dim() != 5 or logits.shape[2] != 2:
            raise ValueError('boundary logits must be [B, D, 2, h, w], got '
                             f'{tuple(logits.shape)}')
        pair_losses = F.binary_cross_entropy_with_logits(
            logits, target, reduction='none') * weight
        # [B, D, 2, h, w] -> one row of positions per (offset, direction)
        per_map = pair_losses.transpose(0, 2).flatten(0, 1).flatten(1)
        top_k = max(int(self.top_k_ratio * per_map.shape[1]), 1)
        terms = per_map.topk(top_k, dim=1).values.mean(dim=1)
        return self.loss_weight * terms.sum()
