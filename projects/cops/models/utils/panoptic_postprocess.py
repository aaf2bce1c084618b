"""From an AMWC solution on the stride grid to a panoptic result.

Plain torch functions (no mmdet structures) so they can be tested and reused
on their own; :class:`COPS` wraps their output into data samples. They run
on the device of their inputs (all on one device).
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mmdet.evaluation.functional import INSTANCE_OFFSET


def amwc_panoptic_ids(labels: Tensor, clusters: Tensor,
                      partitionable: Tensor) -> Tensor:
    """Panoptic ids of the grid points.

    Args:
        labels (Tensor): ``[N]`` int64 class of each point.
        clusters (Tensor): ``[N]`` int64 cluster id of each point.
        partitionable (Tensor): ``[C]`` bool, True for thing classes.

    Returns:
        Tensor: ``[N]`` int64 ``class`` for stuff points and
        ``class + k * INSTANCE_OFFSET`` for points of the k-th thing cluster
        (k = 1, 2, ... in increasing cluster id).
    """
    thing = partitionable[labels]
    _, instance = torch.unique(clusters[thing], return_inverse=True)
    pan = labels.clone()
    pan[thing] += (instance + 1) * INSTANCE_OFFSET
    return pan


def affinity_scores(segments: Tensor, num_segments: int, edges: Tensor,
                    edge_logits: Tensor, num_positions: int) -> Tensor:
    """Boundary part of each segment's confidence, as the original COPS
    (``MaskScore``): ``(sum of the boundary logits of the edges crossing its
    border - sum of those inside it) / num_positions``, the sums taken over
    all offsets and ``num_positions`` = 2 h w, the size of one offset's
    logit map (the original averages each offset's masked map over all its
    positions and sums the offsets).

    Args:
        segments (Tensor): ``[N]`` int64 segment index in
            ``[0, num_segments)``.
        num_segments (int): Number of segments S.
        edges (Tensor): ``[E, 2]`` int64 point indices.
        edge_logits (Tensor): ``[E]`` boundary logits.
        num_positions (int): Positions of one offset's logit map.

    Returns:
        Tensor: ``[S]`` float.
    """
    first, second = segments[edges[:, 0]], segments[edges[:, 1]]
    inside = first == second
    totals = edge_logits.new_zeros(num_segments)
    totals.index_add_(0, first[inside], -edge_logits[inside])
    totals.index_add_(0, torch.cat([first[~inside], second[~inside]]),
                      edge_logits[~inside].repeat(2))
    return totals / num_positions


def semantic_scores(pan_seg: Tensor, ids: Tensor, sem_logits: Tensor,
                    img_shape: Sequence[int], stride: int) -> Tensor:
    """Semantic part of each segment's confidence, as the original COPS:
    the mean, over the segment's pixels at output resolution, of its class
    logit up-sampled bilinearly (x ``stride``, cropped to ``img_shape``,
    then nearest to the size of ``pan_seg``).

    Args:
        pan_seg (Tensor): ``[H, W]`` int64 panoptic ids.
        ids (Tensor): ``[K]`` int64 sorted ids of the segments to score.
        sem_logits (Tensor): ``[C, h, w]`` grid logits.
        img_shape (Sequence[int]): Resized image size seen by the network.
        stride (int): Grid stride.

    Returns:
        Tensor: ``[K]`` float (0 for a segment without pixels).
    """
    if ids.numel() == 0:
        return sem_logits.new_zeros(0)
    classes, class_index = torch.unique(
        ids % INSTANCE_OFFSET, return_inverse=True)
    logits = F.interpolate(
        sem_logits[classes][None],
        scale_factor=stride,
        mode='bilinear',
        align_corners=False)[..., :img_shape[0], :img_shape[1]]
    logits = F.interpolate(logits, size=pan_seg.shape, mode='nearest')[0]
    pan = pan_seg.flatten()
    index = torch.searchsorted(ids, pan).clamp(max=ids.numel() - 1)
    inside = ids[index] == pan
    values = logits.flatten(1).gather(0, class_index[index][None])[0]
    totals = values.new_zeros(ids.numel())
    counts = values.new_zeros(ids.numel())
    totals.index_add_(0, index[inside], values[inside])
    counts.index_add_(0, index[inside], torch.ones_like(values[inside]))
    return totals / counts.clamp(min=1)


def resize_grid_map(grid_map: Tensor, img_shape: Sequence[int],
                    ori_shape: Sequence[int], stride: int) -> Tensor:
    """Nearest up-sampling of a stride-grid map to the original image.

    The network saw the image resized to ``img_shape`` (then padded); grid
    point (i, j) covers the pixels ``[i*s, (i+1)*s) x [j*s, (j+1)*s)`` of the
    resized image. Each original pixel takes the value of the grid point
    under its centre.

    Args:
        grid_map (Tensor): ``[h, w]`` map with ``h >= ceil(img_h / s)``.
        img_shape (Sequence[int]): ``(img_h, img_w)`` of the resized image.
        ori_shape (Sequence[int]): ``(H, W)`` of the original image.
        stride (int): Grid stride s.

    Returns:
        Tensor: ``[H, W]`` map, same dtype.
    """
    coords = []
    for size, ori_size, grid_size in zip(img_shape[:2], ori_shape[:2],
                                         grid_map.shape):
        centres = (torch.arange(
            ori_size, dtype=torch.float64, device=grid_map.device) +
                   0.5) * (size / ori_size)
        index = (centres.floor().long() // stride).clamp(max=grid_size - 1)
        coords.append(index)
    return grid_map[coords[0][:, None], coords[1][None, :]]


def remove_small_segments(pan: Tensor, partitionable: Tensor,
                          void_label: int, instance_min_area: int,
                          stuff_min_area: int) -> Tensor:
    """Set segments smaller than their minimum area to void.

    Args:
        pan (Tensor): ``[H, W]`` int64 panoptic ids (mmdet convention,
            ``void_label`` for void).
        partitionable (Tensor): ``[C]`` bool, True for thing classes.
        void_label (int): Void class (``C``).
        instance_min_area (int): Minimum pixels of a thing segment.
        stuff_min_area (int): Minimum pixels of a stuff segment.

    Returns:
        Tensor: ``[H, W]`` int64 panoptic ids.
    """
    ids, inverse, areas = torch.unique(
        pan, return_inverse=True, return_counts=True)
    classes = ids % INSTANCE_OFFSET
    is_void = classes == void_label
    thing = partitionable[classes.clamp(
        max=partitionable.numel() - 1)] & ~is_void
    min_areas = torch.where(thing, instance_min_area, stuff_min_area)
    ids = torch.where((areas < min_areas) & ~is_void,
                      torch.full_like(ids, void_label), ids)
    return ids[inverse]


def amwc_to_panoptic(labels: Tensor, clusters: Tensor, sem_logits: Tensor,
                     edges: Tensor, edge_logits: Tensor,
                     partitionable: Tensor, img_shape: Sequence[int],
                     ori_shape: Sequence[int], stride: int,
                     instance_min_area: int,
                     stuff_min_area: int) -> Dict[str, Tensor]:
    """Panoptic, semantic and instance results of one image.

    Args:
        labels (Tensor): ``[h * w]`` int64 AMWC class per grid point.
        clusters (Tensor): ``[h * w]`` int64 AMWC cluster per grid point.
        sem_logits (Tensor): ``[C, h, w]`` semantic logits.
        edges (Tensor): ``[E, 2]`` int64 grid edges (``mmcv_ops.grid_graph``).
        edge_logits (Tensor): ``[E]`` boundary logits of the edges.
        partitionable (Tensor): ``[C]`` bool, True for thing classes.
        img_shape (Sequence[int]): Resized image size seen by the network.
        ori_shape (Sequence[int]): Original image size ``(H, W)``.
        stride (int): Grid stride.
        instance_min_area (int): Minimum thing area in original pixels.
        stuff_min_area (int): Minimum stuff area in original pixels.

    Returns:
        dict: ``pan_seg`` ``[H, W]`` int64 (``class + k * INSTANCE_OFFSET``,
        void = C), ``sem_seg`` ``[H, W]`` int64 AMWC classes, and for the
        K kept thing segments ``masks`` ``[K, H, W]`` bool, ``labels``
        ``[K]`` int64, ``scores`` ``[K]`` float (the original's instance
        score: :func:`semantic_scores` + :func:`affinity_scores`).
    """
    num_classes, height, width = sem_logits.shape
    if labels.numel() != height * width or clusters.numel() != height * width:
        raise ValueError(
            f'labels {tuple(labels.shape)} and clusters '
            f'{tuple(clusters.shape)} must have h * w = {height * width} '
            'entries')
    pan = amwc_panoptic_ids(labels, clusters, partitionable)
    ids, segments = torch.unique(pan, return_inverse=True)
    boundary_scores = affinity_scores(segments, ids.numel(), edges,
                                      edge_logits, 2 * height * width)

    def to_image(grid_values: Tensor) -> Tensor:
        return resize_grid_map(
            grid_values.view(height, width), img_shape, ori_shape, stride)

    pan_seg = remove_small_segments(
        to_image(pan), partitionable, num_classes, instance_min_area,
        stuff_min_area)
    kept = (ids >= INSTANCE_OFFSET) & torch.isin(ids, pan_seg)
    scores = boundary_scores[kept] + semantic_scores(
        pan_seg, ids[kept], sem_logits, img_shape, stride)
    return dict(
        pan_seg=pan_seg,
        sem_seg=to_image(labels),
        masks=pan_seg[None] == ids[kept][:, None, None],
        labels=ids[kept] % INSTANCE_OFFSET,
        scores=scores)
