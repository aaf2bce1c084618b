"""Binary cross-entropy over the hardest pixel pairs, with per-pair weights."""
import math

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class TopKBoundaryBCELoss(nn.Module):
    """Weighted BCE of boundary logits averaged over the hardest pairs.

    Every pixel pair (edge) with a positive weight contributes
    ``weight * BCE(logit, target)``; the largest ``ceil(top_k_ratio *
    num_weighted)`` of them are averaged. Pairs with weight 0 (void pixels,
    positions without a partner inside the image) never count.

    Args:
        top_k_ratio (float): Fraction of weighted pairs kept, in (0, 1].
        loss_weight (float): Multiplier of the loss.
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
            logits (Tensor): Boundary logits of any shape, e.g.
                ``[B, D, 2, H, W]``, float.
            target (Tensor): Same shape, 1.0 where the pair is cut.
            weight (Tensor): Same shape, per-pair weight (0 = ignore).

        Returns:
            Tensor: Scalar loss (zero with gradient when nothing is weighted).
        """
        if logits.shape != target.shape or logits.shape != weight.shape:
            raise ValueError(
                f'shape mismatch: logits {tuple(logits.shape)}, target '
                f'{tuple(target.shape)}, weight {tuple(weight.shape)}')
        valid = weight > 0
        pair_losses = F.binary_cross_entropy_with_logits(
            logits[valid], target[valid], reduction='none') * weight[valid]
        if pair_losses.numel() == 0:
            return logits.sum() * 0
        top_k = math.ceil(self.top_k_ratio * pair_losses.numel())
        return self.loss_weight * pair_losses.topk(top_k).values.mean()
