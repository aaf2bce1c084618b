"""Cross-entropy over the hardest pixels, with per-pixel weights."""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class HardPixelCELoss(nn.Module):
    """Weighted cross-entropy averaged over the ``top_k_ratio`` hardest
    positions.

    As detectron2's ``DeepLabCE`` used by the original COPS: the per-pixel
    losses ``weight * CE`` of all positions of the batch (void and
    zero-weight positions included, with loss 0) are ranked and the largest
    ``int(top_k_ratio * positions)`` (at least 1) averaged; with
    ``top_k_ratio=1`` this is the mean over all positions. mmseg's
    ``OHEMPixelSampler`` selects by predicted probability and mmdet's
    ``CrossEntropyLoss`` has no top-k, hence this loss.

    Args:
        top_k_ratio (float): Fraction of positions kept, in (0, 1].
        ignore_index (int): Target value of unlabelled pixels.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self,
                 top_k_ratio: float = 0.2,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0 < top_k_ratio <= 1:
            raise ValueError(f'top_k_ratio must be in (0, 1], got '
                             f'{top_k_ratio}')
        self.top_k_ratio = top_k_ratio
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor,
                weight: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): Class logits ``[B, C, H, W]``, float.
            target (Tensor): Class indices ``[B, H, W]``, int64;
                ``ignore_index`` where unlabelled.
            weight (Tensor): Per-pixel weights ``[B, H, W]``, float.

        Returns:
            Tensor: Scalar loss (zero with gradient when nothing is labelled).
        """
        if (target.shape != weight.shape
                or logits.shape[2:] != target.shape[1:]):
            raise ValueError(
                f'shape mismatch: logits {tuple(logits.shape)}, target '
                f'{tuple(target.shape)}, weight {tuple(weight.shape)}')
        pixel_losses = (F.cross_entropy(
            logits, target, ignore_index=self.ignore_index, reduction='none')
                        * weight).flatten()
        if self.top_k_ratio < 1:
            top_k = max(int(self.top_k_ratio * pixel_losses.numel()), 1)
            pixel_losses = pixel_losses.topk(top_k).values
        return self.loss_weight * pixel_losses.mean()
