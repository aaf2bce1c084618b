"""Smooth panoptic-quality loss on the panoptic masks of the AMWC layer."""
from typing import List, Optional, Sequence

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from ..utils.panoptic_matching import match_panoptic_segments


def soft_iou(pred: Tensor, gt: Tensor, weights: Tensor, eps: float) -> Tensor:
    """(weighted intersection + eps) / (weighted union + eps) per pair.

    Args:
        pred (Tensor): [P, H, W] float masks in [0, 1].
        gt (Tensor): [P, H, W] float masks in [0, 1].
        weights (Tensor): [P, H, W] pixel weights (0 = ignored).
        eps (float): smoothing term.

    Returns:
        Tensor: [P] soft IoUs.
    """
    intersection = pred * gt
    union = pred + gt - intersection
    return (((intersection * weights).sum(
        (1, 2)) + eps) / ((union * weights).sum((1, 2)) + eps))


def soft_threshold(iou: Tensor) -> Tensor:
    """Smooth step at 0.5, the TP probability:
    iou^4 / (iou^4 + (1 - iou)^4)."""
    return iou.pow(4) / (iou.pow(4) + (1 - iou).pow(4))


@MODELS.register_module()
class PQSurrogateLoss(nn.Module):
    """Soft panoptic quality of predicted masks against ground truth (COPS).

    Predicted and ground-truth segments are paired per image and class
    (:func:`match_panoptic_segments`). For a pair with soft IoU ``iou``
    (ignore-weighted, smoothed by ``eps``), ground-truth presence ``e`` (0 for
    an empty ground truth) and foreground probability
    ``f = sigmoid(fg_prob_scale * (area - min_area))`` of the prediction (0 for
    an empty prediction; ``min_area`` depends on thing / stuff)::

        tp = t(iou) * f * e
        fn = e * (1 - t(iou) * f)
        fp = f * (1 - t(iou) * e)

    with ``t`` the soft threshold at IoU 0.5. For hard 0/1 masks and ``f`` = 1
    these are PQ's TP / FN / FP counts. Per class, over the whole batch,
    ``PQ_c = (sum(tp * iou) + eps) / (sum(tp + fn / 2 + fp / 2) + eps)``
    and the loss is ``loss_weight * (1 - mean(PQ_c))`` over the classes
    present (with a prediction or a ground truth). Unlike the original code,
    a paired prediction below IoU 0.5 also counts as a soft false positive,
    as in PQ.

    Args:
        num_things_classes (int): thing classes are ``0..num_things - 1``,
            the remaining ``num_stuff_classes`` ones are stuff.
        num_stuff_classes (int): number of stuff classes.
        thing_min_area (float): area (pixels at mask resolution) where an
            instance mask has foreground probability 0.5.
        stuff_min_area (float): the same for a stuff mask.
        fg_prob_scale (float): slope of the foreground probability in area.
        eps (float): smoothing term of the IoU and of PQ_c.
        loss_weight (float): weight of the loss.
    """

    def __init__(self,
                 num_things_classes: int,
                 num_stuff_classes: int,
                 thing_min_area: float = 200.,
                 stuff_min_area: float = 2048.,
                 fg_prob_scale: float = 0.1,
                 eps: float = 0.1,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_things_classes < 0 or num_stuff_classes < 0 or (
                num_things_classes + num_stuff_classes == 0):
            raise ValueError('need a positive number of classes, got '
                             f'num_things_classes={num_things_classes}, '
                             f'num_stuff_classes={num_stuff_classes}')
        if eps < 0:
            raise ValueError(f'eps must be >= 0, got {eps}')
        self.num_things_classes = num_things_classes
        self.num_classes = num_things_classes + num_stuff_classes
        self.thing_min_area = thing_min_area
        self.stuff_min_area = stuff_min_area
        self.fg_prob_scale = fg_prob_scale
        self.eps = eps
        self.loss_weight = loss_weight

    def foreground_probability(self, masks: Tensor, classes: Tensor) -> Tensor:
        """Probability that each predicted mask is kept as a segment.

        Args:
            masks (Tensor): [P, H, W] float predicted masks.
            classes (Tensor): [P] int64 class ids.

        Returns:
            Tensor: [P] ``sigmoid(fg_prob_scale * (area - min_area))``, 0 for
            empty masks.
        """
        areas = masks.sum((1, 2))
        min_areas = torch.where(classes < self.num_things_classes,
                                areas.new_tensor(self.thing_min_area),
                                areas.new_tensor(self.stuff_min_area))
        probs = torch.sigmoid(self.fg_prob_scale * (areas - min_areas))
        return probs * (areas.detach() > 0)

    def forward(self,
                pred_masks: Tensor,
                pred_classes: Tensor,
                pred_valid: Tensor,
                gt_masks: Sequence[Tensor],
                gt_classes: Sequence[Tensor],
                weights: Optional[Tensor] = None) -> Tensor:
        """Loss of a batch.

        Args:
            pred_masks (Tensor): [B, M, H, W] float predicted masks (padded),
                e.g. the output of :class:`AMWCLayer`.
            pred_classes (Tensor): [B, M] int64 class ids of the masks.
            pred_valid (Tensor): [B, M] bool, False for padding.
            gt_masks (Sequence[Tensor]): per image [G_b, H, W] ground-truth
                segment masks (bool or 0/1).
            gt_classes (Sequence[Tensor]): per image [G_b] int64 class ids.
            weights (Tensor, optional): [B, H, W] pixel weights, 0 for
                ignored pixels; all ones if None.

        Returns:
            Tensor: scalar loss.
        """
        self._check_inputs(pred_masks, pred_classes, pred_valid, gt_masks,
                           gt_classes, weights)
        if weights is None:
            weights = pred_masks.new_ones(pred_masks.shape[:1] +
                                          pred_masks.shape[2:])
        preds, gts, pair_weights, classes = self._pair_masks(
            pred_masks, pred_classes, pred_valid, gt_masks, gt_classes,
            weights)
        if len(classes) == 0:
            return pred_masks.sum() * 0
        ious = soft_iou(preds, gts, pair_weights, self.eps)
        tp_prob = soft_threshold(ious)
        fg_prob = self.foreground_probability(preds, classes)
        gt_present = (gts.flatten(1) > 0).any(1).to(ious.dtype)
        true_pos = tp_prob * fg_prob * gt_present
        false_neg = gt_present * (1 - tp_prob * fg_prob)
        false_pos = fg_prob * (1 - tp_prob * gt_present)
        numerator = ious.new_zeros(self.num_classes).index_add(
            0, classes, true_pos * ious)
        denominator = ious.new_zeros(self.num_classes).index_add(
            0, classes, true_pos + 0.5 * (false_neg + false_pos))
        present = torch.unique(classes)
        class_pq = (numerator[present] + self.eps) / (
            denominator[present] + self.eps)
        return self.loss_weight * (1 - class_pq.mean())

    def _pair_masks(self, pred_masks: Tensor, pred_classes: Tensor,
                    pred_valid: Tensor, gt_masks: Sequence[Tensor],
                    gt_classes: Sequence[Tensor], weights: Tensor) -> List:
        """Aligned [P, H, W] predictions, ground truths, weights + [P] classes.

        An empty partner of a pair is a zero mask; gradients flow into the
        predicted masks only.
        """
        preds, gts, pair_weights, classes = [], [], [], []
        for img_masks, img_classes, valid, img_gt_masks, img_gt_classes, \
                img_weights in zip(pred_masks, pred_classes, pred_valid,
                                   gt_masks, gt_classes, weights):
            valid_masks = img_masks[valid]
            img_gt_masks = img_gt_masks.to(img_masks.dtype)
            pred_index, gt_index, pair_classes = match_panoptic_segments(
                valid_masks.detach(), img_classes[valid], img_gt_masks,
                img_gt_classes, self.num_things_classes, img_weights)
            pred_index = pred_index.to(img_masks.device)
            gt_index = gt_index.to(img_masks.device)
            preds.append(
                _gather_or_zero(valid_masks, pred_index.clamp(min=0),
                                pred_index >= 0))
            gts.append(
                _gather_or_zero(img_gt_masks, gt_index.clamp(min=0), gt_index
                                >= 0))
            pair_weights.append(img_weights.expand(len(pred_index), -1, -1))
            classes.append(pair_classes.to(img_masks.device))
        return (torch.cat(preds), torch.cat(gts), torch.cat(pair_weights),
                torch.cat(classes))

    def _check_inputs(self, pred_masks, pred_classes, pred_valid, gt_masks,
                      gt_classes, weights) -> None:
        if pred_masks.dim() != 4:
            raise ValueError('pred_masks must be [B, M, H, W], got '
                             f'{tuple(pred_masks.shape)}')
        if pred_classes.shape != pred_masks.shape[:2] or (
                pred_valid.shape != pred_masks.shape[:2]):
            raise ValueError(
                f'pred_classes {tuple(pred_classes.shape)} and pred_valid '
                f'{tuple(pred_valid.shape)} must be [B, M] = '
                f'{tuple(pred_masks.shape[:2])}')
        if len(gt_masks) != len(pred_masks) or len(gt_classes) != len(
                pred_masks):
            raise ValueError(f'need gt_masks and gt_classes for '
                             f'{len(pred_masks)} images, got {len(gt_masks)} '
                             f'and {len(gt_classes)}')
        for masks in gt_masks:
            if masks.dim() != 3 or masks.shape[1:] != pred_masks.shape[2:]:
                raise ValueError(f'gt_masks must be [G, H, W] with [H, W] = '
                                 f'{tuple(pred_masks.shape[2:])}, got '
                                 f'{tuple(masks.shape)}')
        image_shape = pred_masks.shape[:1] + pred_masks.shape[2:]
        if weights is not None and weights.shape != image_shape:
            raise ValueError(f'weights must be [B, H, W] = '
                             f'{tuple(image_shape)}, got '
                             f'{tuple(weights.shape)}')


def _gather_or_zero(masks: Tensor, index: Tensor, keep: Tensor) -> Tensor:
    """``masks[index]`` with the entries where ``keep`` is False zeroed."""
    if len(masks) == 0:
        return masks.new_zeros((len(index), ) + masks.shape[1:])
    return masks[index] * keep[:, None, None].to(masks.dtype)
