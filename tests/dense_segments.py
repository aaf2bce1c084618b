"""Test helper: :class:`AMWCSegments` of dense masks, the reference for the
bincount statistics of the AMWC layer."""
import torch

from projects.cops.models.layers import AMWCSegments


def dense_segments(pred_masks, pred_classes, pred_valid, gt_masks, gt_classes,
                   weights=None):
    """Segments and ground truth of the PQ loss from dense masks.

    Args:
        pred_masks (Tensor): [B, M, H, W] float masks (may require grad).
        pred_classes (Tensor): [B, M] int64; pred_valid [B, M] bool.
        gt_masks (list[Tensor]): per image [G_b, H, W] masks.
        gt_classes (list[Tensor]): per image [G_b] int64.
        weights (Tensor, optional): [B, H, W] pixel weights (ones if None).

    Returns:
        tuple: ``AMWCSegments`` (segment ids unused: -1), ``gt_classes``
        [B, R] (-1 padded) and weighted ``gt_areas`` [B, R].
    """
    batch = len(pred_masks)
    if weights is None:
        weights = torch.ones(batch, *pred_masks.shape[2:])
    num_regions = max(len(c) for c in gt_classes)
    padded_masks = torch.zeros(batch, num_regions, *pred_masks.shape[2:])
    padded_classes = torch.full((batch, num_regions), -1, dtype=torch.long)
    for i, (masks, classes) in enumerate(zip(gt_masks, gt_classes)):
        padded_masks[i, :len(masks)] = masks.float()
        padded_classes[i, :len(classes)] = classes
    weighted = pred_masks * weights[:, None]
    overlaps = torch.einsum('bmhw,brhw->bmr', weighted, padded_masks)
    segments = AMWCSegments(
        overlaps=overlaps,
        weighted_areas=weighted.sum((2, 3)),
        areas=pred_masks.sum((2, 3)),
        segment_ids=torch.full((batch, *pred_masks.shape[2:]), -1),
        classes=pred_classes,
        valid=pred_valid)
    gt_areas = (padded_masks * weights[:, None]).sum((2, 3))
    return segments, padded_classes, gt_areas
