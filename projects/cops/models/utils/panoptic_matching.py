"""Ground-truth regions of panoptic maps and the matching of predicted
segments to them, on overlap statistics (no per-segment masks).

Framework-free (torch + scipy; mmcv_ops for the host copy): the PQ surrogate
loss pairs every predicted segment of the AMWC layer with at most one
ground-truth segment.
"""
from typing import Tuple

import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmcv_ops.device import to_host


def panoptic_regions(pan_seg: Tensor,
                     ignore_index: int) -> Tuple[Tensor, Tensor]:
    """Region map and region classes of a batch of panoptic id maps.

    Args:
        pan_seg (Tensor): [B, H, W] int64 ids ``class + k * INSTANCE_OFFSET``
            (mmdet's convention), ``ignore_index`` for void pixels.
        ignore_index (int): void id.

    Returns:
        tuple[Tensor, Tensor]: ``regions`` [B, H, W] int64, the index of
        each pixel's segment in its image (-1 for void), and ``classes``
        [B, R] int64 class of each region (-1 for padding).
    """
    if pan_seg.dim() != 3:
        raise ValueError(
            f'pan_seg must be [B, H, W], got {tuple(pan_seg.shape)}')
    regions, classes = [], []
    for image in pan_seg:
        ids, inverse = torch.unique(image, return_inverse=True)
        is_void = ids == ignore_index
        new_index = torch.cumsum(~is_void, 0) - 1
        regions.append(torch.where(is_void[inverse], -1, new_index[inverse]))
        classes.append(ids[~is_void] % INSTANCE_OFFSET)
    padded = pan_seg.new_full((len(pan_seg), max(len(c) for c in classes)),
                              -1)
    for i, image_classes in enumerate(classes):
        padded[i, :len(image_classes)] = image_classes
    return torch.stack(regions), padded


def soft_iou(overlaps: Tensor, pred_areas: Tensor, gt_areas: Tensor,
             eps: float) -> Tensor:
    """(intersection + eps) / (union + eps) from weighted statistics.

    Args:
        overlaps (Tensor): [...] weighted intersections.
        pred_areas (Tensor): [...] weighted areas of the predictions.
        gt_areas (Tensor): [...] weighted areas of the ground truths.
        eps (float): smoothing term.

    Returns:
        Tensor: soft IoUs, shape of the (broadcast) inputs.
    """
    return (overlaps + eps) / (pred_areas + gt_areas - overlaps + eps)


def match_panoptic_segments(
        ious: Tensor, pred_classes: Tensor,
        gt_classes: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Pair predicted and ground-truth segments of one image, class by class.

    Per class, Hungarian matching maximises the summed IoU (stuff classes
    have one segment on each side, so they pair by class); every assigned
    pair is kept, overlapping or not, as in the original COPS. Every
    unpaired prediction is paired with an empty ground truth and every
    unpaired ground truth with an empty prediction (index -1).

    Args:
        ious (Tensor): [M, G] IoU (or any similarity) of every pair.
        pred_classes (Tensor): [M] int64 class ids of the predictions.
        gt_classes (Tensor): [G] int64 class ids of the ground truths.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``pred_indices`` [P], ``gt_indices``
        [P] (int64, -1 = empty partner) and ``classes`` [P] of the P pairs,
        sorted by class.
    """
    if pred_classes.dim() != 1 or gt_classes.dim() != 1 or ious.shape != (
            len(pred_classes), len(gt_classes)):
        raise ValueError(f'ious must be [M, G] = [{len(pred_classes)}, '
                         f'{len(gt_classes)}] for pred_classes [M] and '
                         f'gt_classes [G], got {tuple(ious.shape)}')
    # one host copy (float: numpy has no half floats)
    ious, pred_classes, gt_classes = to_host(
        (ious.float(), pred_classes, gt_classes))
    pred_indices, gt_indices, classes = [], [], []
    for cls in torch.unique(torch.cat([pred_classes, gt_classes])).tolist():
        preds = torch.nonzero(pred_classes == cls).flatten()
        gts = torch.nonzero(gt_classes == cls).flatten()
        rows, cols = linear_sum_assignment(
            ious[preds][:, gts].numpy(), maximize=True)
        rows = torch.as_tensor(rows, dtype=torch.long)
        cols = torch.as_tensor(cols, dtype=torch.long)
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
