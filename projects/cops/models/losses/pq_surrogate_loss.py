"""Smooth panoptic-quality loss on the panoptic segments of the AMWC layer."""
from typing import Tuple

import torch
import torch.distributed as dist
from mmdet.registry import MODELS
from torch import Tensor, nn

from ..utils.panoptic_matching import match_panoptic_segments, soft_iou


def soft_threshold(iou: Tensor) -> Tensor:
    """Smooth step at 0.5, the TP probability:
    iou^4 / (iou^4 + (1 - iou)^4)."""
    return iou.pow(4) / (iou.pow(4) + (1 - iou).pow(4))


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) forward, identity backward.

    Every process computes the same loss from the summed per-class terms,
    so each one's gradient w.r.t. its own terms is the single-process one.
    """

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
        return tensor

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return grad


def sum_over_processes(tensor: Tensor) -> Tensor:
    """``tensor`` summed over all processes of the default group (itself
    outside distributed runs); gradients pass through unchanged."""
    if dist.is_available() and dist.is_initialized() and (
            dist.get_world_size() > 1):
        return _SumOverProcesses.apply(tensor)
    return tensor


@MODELS.register_module()
class PQSurrogateLoss(nn.Module):
    """Soft panoptic quality of predicted segments against ground truth.

    Predicted and ground-truth segments are paired per image and class by
    Hungarian matching on the soft IoU (:func:`match_panoptic_segments`). For
    a pair with soft IoU ``iou`` (weighted, smoothed by ``eps``), ground-truth
    presence ``e`` (0 for an empty ground truth), soft threshold
    ``t = t(iou)`` and foreground probability
    ``f = sigmoid(fg_prob_scale * (area - min_area))`` of the prediction (0
    for an empty prediction; ``min_area`` depends on thing / stuff), as in
    the original COPS::

        tp = t * f * e
        fn = (1 - t) * e
        fp = (1 - e) * (1 - t) * f

    (only unpaired predictions are false positives). An unpaired ground
    truth gets ``fn = 1``, constant: a segment predicted with the wrong class
    or not at all has no gradient towards its class. Where the segments hold
    empty ones (``AMWCLayer(empty_segments=True)``, area 0; left out of the
    matching), an unpaired ground truth ``g`` of a class with an empty
    segment ``v`` instead gets ``fn = 1 - iou(v, g)``: the same value in the
    forward up to ``eps``, and the gradient that grows ``v`` over ``g``, i.e.
    moves ``g``'s pixels into its class (not in the original). Per class, over the
    whole batch and over all processes of a distributed run,
    ``PQ_c = (sum(tp * iou) + eps) / (sum(tp + fn / 2 + fp / 2) + eps)`` and
    the loss is ``loss_weight * (1 - mean(PQ_c))`` over the classes with a
    positive denominator. Summing over processes makes N processes with B
    images each compute the loss of one process with N * B images, and give
    each process that loss's gradient w.r.t. its own segments; the parameter
    gradients of the processes must then be summed, not averaged (see
    :class:`COPSEndToEnd`).

    Args:
        num_things_classes (int): thing classes are ``0..num_things - 1``,
            the remaining ``num_stuff_classes`` ones are stuff.
        num_stuff_classes (int): number of stuff classes.
        thing_min_area (float): area (pixels at mask resolution) where an
            instance has foreground probability 0.5.
        stuff_min_area (float): the same for a stuff segment.
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

    def foreground_probability(self, areas: Tensor, classes: Tensor) -> Tensor:
        """Probability that each predicted segment is kept.

        Args:
            areas (Tensor): [P] float pixel counts of the predictions.
            classes (Tensor): [P] int64 class ids.

        Returns:
            Tensor: [P] ``sigmoid(fg_prob_scale * (area - min_area))``, 0 for
            empty predictions.
        """
        min_areas = torch.where(classes < self.num_things_classes,
                                areas.new_tensor(self.thing_min_area),
                                areas.new_tensor(self.stuff_min_area))
        probs = torch.sigmoid(self.fg_prob_scale * (areas - min_areas))
        return probs * (areas.detach() > 0)

    def forward(self, segments, gt_classes: Tensor,
                gt_areas: Tensor) -> Tensor:
        """Loss of a batch.

        Args:
            segments (AMWCSegments): predicted segments (the output of
                :class:`AMWCLayer`); uses ``overlaps`` [B, M, R] with the
                ground-truth regions, ``weighted_areas`` and ``areas``
                [B, M], ``classes`` [B, M] and ``valid`` [B, M].
            gt_classes (Tensor): [B, R] int64 class of each ground-truth
                region, -1 for padding.
            gt_areas (Tensor): [B, R] weighted area of each region (the
                weights of ``segments``).

        Returns:
            Tensor: scalar loss.
        """
        self._check_inputs(segments, gt_classes, gt_areas)
        numerator, denominator = self.class_terms(segments, gt_classes,
                                                  gt_areas)
        numerator = sum_over_processes(numerator)
        denominator = sum_over_processes(denominator)
        counted = denominator.detach() > 0
        class_pq = (numerator[counted] + self.eps) / (
            denominator[counted] + self.eps)
        if len(class_pq) == 0:
            return numerator.sum() * 0
        return self.loss_weight * (1 - class_pq.mean())

    def class_terms(self, segments, gt_classes: Tensor,
                    gt_areas: Tensor) -> Tuple[Tensor, Tensor]:
        """Per-class ``sum(tp * iou)`` and ``sum(tp + fn / 2 + fp / 2)``
        of this process's images, both [C]."""
        numerator = segments.areas.new_zeros(self.num_classes)
        denominator = segments.areas.new_zeros(self.num_classes)
        for overlaps, weighted_areas, areas, classes, valid, img_gt_classes, \
                img_gt_areas in zip(segments.overlaps,
                                    segments.weighted_areas, segments.areas,
                                    segments.classes, segments.valid,
                                    gt_classes, gt_areas):
            gt_valid = img_gt_classes >= 0
            empty = valid & (areas.detach() == 0)
            empty_overlaps = overlaps[empty][:, gt_valid]
            empty_areas = weighted_areas[empty]
            empty_of_class = torch.full((self.num_classes, ),
                                        -1,
                                        device=classes.device)
            empty_of_class[classes[empty]] = torch.arange(
                len(empty_areas), device=classes.device)
            valid = valid & ~empty
            overlaps = overlaps[valid][:, gt_valid]
            weighted_areas = weighted_areas[valid]
            img_gt_areas = img_gt_areas[gt_valid]
            ious = soft_iou(overlaps, weighted_areas[:, None],
                            img_gt_areas[None], self.eps)
            pred, gt, pair_classes = match_panoptic_segments(
                ious, classes[valid], img_gt_classes[gt_valid])
            pred, gt = pred.to(ious.device), gt.to(ious.device)
            pair_classes = pair_classes.to(ious.device)
            has_pred, has_gt = pred >= 0, gt >= 0
            pred, gt = pred.clamp(min=0), gt.clamp(min=0)
            zero = ious.new_zeros(())
            pair_overlaps = torch.where(
                has_pred & has_gt,
                overlaps[pred, gt] if overlaps.numel() else zero, zero)
            pair_ious = soft_iou(
                pair_overlaps,
                torch.where(has_pred, _take(weighted_areas, pred), zero),
                torch.where(has_gt, _take(img_gt_areas, gt), zero), self.eps)
            fg_prob = self.foreground_probability(
                torch.where(has_pred, _take(areas[valid], pred), zero),
                pair_classes)
            present = has_gt.to(ious.dtype)
            tp_prob = soft_threshold(pair_ious)
            true_pos = tp_prob * fg_prob * present
            false_neg = (1 - tp_prob) * present
            empty_pred = empty_of_class.to(ious.device)[pair_classes]
            to_empty = has_gt & ~has_pred & (empty_pred >= 0)
            if to_empty.any():
                v, g = empty_pred[to_empty], gt[to_empty]
                false_neg = false_neg.masked_scatter(
                    to_empty, 1 - soft_iou(empty_overlaps[v, g],
                                           empty_areas[v], img_gt_areas[g],
                                           self.eps))
            false_pos = (1 - present) * (1 - tp_prob) * fg_prob
            numerator = numerator.index_add(0, pair_classes,
                                            true_pos * pair_ious)
            denominator = denominator.index_add(
                0, pair_classes, true_pos + 0.5 * (false_neg + false_pos))
        return numerator, denominator

    def _check_inputs(self, segments, gt_classes, gt_areas) -> None:
        batch, num_segments = segments.classes.shape
        expected = (batch, num_segments, gt_classes.shape[-1])
        if tuple(segments.overlaps.shape) != expected:
            raise ValueError(f'segments.overlaps must be [B, M, R] = '
                             f'{expected} (R: regions of gt_classes), got '
                             f'{tuple(segments.overlaps.shape)}')
        if gt_classes.shape != gt_areas.shape or gt_classes.dim() != 2:
            raise ValueError(f'gt_classes {tuple(gt_classes.shape)} and '
                             f'gt_areas {tuple(gt_areas.shape)} must both be '
                             '[B, R]')


def _take(values: Tensor, index: Tensor) -> Tensor:
    """``values[index]``, zeros when ``values`` is empty."""
    if len(values) == 0:
        return values.new_zeros(index.shape)
    return values[index]
