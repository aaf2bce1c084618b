"""Match predicted panoptic segments to ground-truth segments of one image.

Framework-free (torch + scipy): the PQ surrogate loss uses it to pair every
predicted mask of the AMWC layer with at most one ground-truth segment.
"""
from typing import Optional, Tuple

import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from scipy.optimize import linear_sum_assignment
from torch import Tensor


def panoptic_segments(pan_seg: Tensor,
                      ignore_index: int) -> Tuple[Tensor, Tensor]:
    """Ground-truth segment masks of a panoptic id map.

    Args:
        pan_seg (Tensor): [H, W] int64 ids ``class + k * INSTANCE_OFFSET``
            (mmdet's convention), ``ignore_index`` for void pixels.
        ignore_index (int): void id.

    Returns:
        tuple[Tensor, Tensor]: ``masks`` [G, H, W] bool, one per segment
        id, and their ``classes`` [G] int64.
    """
    if pan_seg.dim() != 2:
        raise ValueError(f'pan_seg must be [H, W], got {tuple(pan_seg.shape)}')
    ids = torch.unique(pan_seg)
    ids = ids[ids != ignore_index]
    masks = pan_seg[None] == ids[:, None, None]
    return masks, ids % INSTANCE_OFFSET


def mask_iou_matrix(pred_masks: Tensor,
                    gt_masks: Tensor,
                    weights: Optional[Tensor] = None) -> Tensor:
    """Weighted IoU of every predicted mask with every ground-truth mask.

    Args:
        pred_masks (Tensor): [M, H, W] masks with values in [0, 1].
        gt_masks (Tensor): [G, H, W] masks with values in [0, 1].
        weights (Tensor, optional): [H, W] pixel weights (0 = ignored pixel).

    Returns:
        Tensor: [M, G] float IoUs, computed with one matrix product of the
        flattened masks; a pair whose union is empty has IoU 0.
    """
    pred = pred_masks.flatten(1).float()
    gt = gt_masks.flatten(1).float()
    pixel_weights = (
        pred.new_ones(1, pred.shape[1])
        if weights is None else weights.flatten().float()[None])
    weighted_pred = pred * pixel_weights
    intersection = weighted_pred @ gt.t()
    union = (
        weighted_pred.sum(1)[:, None] + (gt * pixel_weights).sum(1)[None, :] -
        intersection)
    return torch.where(union > 0, intersection / union.clamp(min=1e-12),
                       torch.zeros_like(union))


def match_panoptic_segments(
        pred_masks: Tensor,
        pred_classes: Tensor,
        gt_masks: Tensor,
        gt_classes: Tensor,
        num_things_classes: int,
        weights: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Pair predicted and ground-truth segments of one image, class by class.

    Stuff segments (class >= ``num_things_classes``) are paired by class.
    Thing segments of one class are paired by Hungarian matching that
    maximises the summed IoU; assigned pairs without any overlap are split
    again. Every unpaired prediction is paired with an empty ground truth and
    every unpaired ground truth with an empty prediction (index -1).

    Args:
        pred_masks (Tensor): [M, H, W] predicted masks (bool or 0/1 float).
        pred_classes (Tensor): [M] int64 class ids of the predictions.
        gt_masks (Tensor): [G, H, W] ground-truth masks, same size.
        gt_classes (Tensor): [G] int64 class ids of the ground truths.
        num_things_classes (int): thing classes are ``0..num_things - 1``.
        weights (Tensor, optional): [H, W] pixel weights (0 = ignored).

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``pred_indices`` [P], ``gt_indices``
        [P] (int64, -1 = empty partner) and ``classes`` [P] of the P pairs,
        sorted by class.
    """
    _check_masks('pred', pred_masks, pred_classes)
    _check_masks('gt', gt_masks, gt_classes)
    if pred_masks.shape[1:] != gt_masks.shape[1:]:
        raise ValueError(f'pred_masks {tuple(pred_masks.shape)} and gt_masks '
                         f'{tuple(gt_masks.shape)} differ in size')
    if weights is not None and weights.shape != gt_masks.shape[1:]:
        raise ValueError(
            f'weights must be [H, W] = {tuple(gt_masks.shape[1:])}'
            f', got {tuple(weights.shape)}')
    with torch.no_grad():
        ious = mask_iou_matrix(pred_masks, gt_masks, weights).cpu()
    pred_classes = pred_classes.cpu()
    gt_classes = gt_classes.cpu()
    pred_indices, gt_indices, classes = [], [], []
    for cls in torch.unique(torch.cat([pred_classes, gt_classes])).tolist():
        preds = torch.nonzero(pred_classes == cls).flatten()
        gts = torch.nonzero(gt_classes == cls).flatten()
        class_ious = ious[preds][:, gts]
        rows, cols = linear_sum_assignment(class_ious.numpy(), maximize=True)
        rows = torch.as_tensor(rows, dtype=torch.long)
        cols = torch.as_tensor(cols, dtype=torch.long)
        if cls < num_things_classes:
            overlapping = class_ious[rows, cols] > 0
            rows, cols = rows[overlapping], cols[overlapping]
        pred_paired = torch.zeros(len(preds), dtype=torch.bool)
        gt_paired = torch.zeros(len(gts), dtype=torch.bool)
        pred_paired[rows] = True
        gt_paired[cols] = True
        unpaired_preds = preds[~pred_paired]
        unpaired_gts = gts[~gt_paired]
        pred_indices += [
            preds[rows], unpaired_preds,
            torch.full_like(unpaired_gts, -1)
        ]
        gt_indices += [
            gts[cols],
            torch.full_like(unpaired_preds, -1), unpaired_gts
        ]
        num_pairs = len(rows) + len(unpaired_preds) + len(unpaired_gts)
        classes.append(torch.full((num_pairs, ), cls, dtype=torch.long))
    if not classes:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty.clone(), empty.clone()
    return torch.cat(pred_indices), torch.cat(gt_indices), torch.cat(classes)


def _check_masks(name: str, masks: Tensor, classes: Tensor) -> None:
    if masks.dim() != 3:
        raise ValueError(f'{name}_masks must be [N, H, W], got '
                         f'{tuple(masks.shape)}')
    if classes.dim() != 1 or len(classes) != len(masks):
        raise ValueError(f'{name}_classes must be [{len(masks)}], got '
                         f'{tuple(classes.shape)}')
