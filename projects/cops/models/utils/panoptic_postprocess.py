"""From an AMWC solution on the stride grid to a panoptic result.

Plain torch functions (no mmdet structures) so they can be tested and reused
on their own; :class:`COPS` wraps their output into data samples. They run
on the device of their inputs (all on one device).
"""
from typing import Dict, Sequence

import torch
from torch import Tensor

from mmdet.evaluation.functional import INSTANCE_OFFSET


def amwc_panoptic_ids(labels: Tensor, clusters: Tensor,
                      is_thing: Tensor) -> Tensor:
    """Panoptic ids of the grid points.

    Args:
        labels (Tensor): ``[N]`` int64 class of each point.
        clusters (Tensor): ``[N]`` int64 cluster id of each point.
        is_thing (Tensor): ``[C]`` bool, True for partitionable classes.

    Returns:
        Tensor: ``[N]`` int64 ``class`` for stuff points and
        ``class + k * INSTANCE_OFFSET`` for points of the k-th thing cluster
        (k = 1, 2, ... in increasing cluster id).
    """
    thing = is_thing[labels]
    _, instance = torch.unique(clusters[thing], return_inverse=True)
    pan = labels.clone()
    pan[thing] += (instance + 1) * INSTANCE_OFFSET
    return pan


def segment_scores(segments: Tensor, num_segments: int, point_logits: Tensor,
                   edges: Tensor, edge_logits: Tensor) -> Tensor:
    """Confidence of each segment (the paper's instance score, docs/method.md).

    ``mean semantic logit of its class over its points + mean boundary logit
    of the edges crossing its border - mean boundary logit of the edges
    inside it``; an empty mean counts as 0.

    Args:
        segments (Tensor): ``[N]`` int64 segment index in
            ``[0, num_segments)``.
        num_segments (int): Number of segments S.
        point_logits (Tensor): ``[N]`` semantic logit of each point's class.
        edges (Tensor): ``[E, 2]`` int64 point indices.
        edge_logits (Tensor): ``[E]`` boundary logits.

    Returns:
        Tensor: ``[S]`` float scores.
    """

    def mean_per_segment(index: Tensor, values: Tensor) -> Tensor:
        totals = values.new_zeros(num_segments)
        counts = values.new_zeros(num_segments)
        totals.index_add_(0, index, values)
        counts.index_add_(0, index, torch.ones_like(values))
        return totals / counts.clamp(min=1)

    first, second = segments[edges[:, 0]], segments[edges[:, 1]]
    inside = first == second
    border_index = torch.cat([first[~inside], second[~inside]])
    border_logits = edge_logits[~inside].repeat(2)
    return (mean_per_segment(segments, point_logits) +
            mean_per_segment(border_index, border_logits) -
            mean_per_segment(first[inside], edge_logits[inside]))


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


def remove_small_segments(pan: Tensor, is_thing: Tensor, void_label: int,
                          instance_min_area: int,
                          stuff_min_area: int) -> Tensor:
    """Set segments smaller than their minimum area to void.

    Args:
        pan (Tensor): ``[H, W]`` int64 panoptic ids (mmdet convention,
            ``void_label`` for void).
        is_thing (Tensor): ``[C]`` bool.
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
    thing = is_thing[classes.clamp(max=is_thing.numel() - 1)] & ~is_void
    min_areas = torch.where(thing, instance_min_area, stuff_min_area)
    ids = torch.where((areas < min_areas) & ~is_void,
                      torch.full_like(ids, void_label), ids)
    return ids[inverse]


def amwc_to_panoptic(labels: Tensor, clusters: Tensor, sem_logits: Tensor,
                     edges: Tensor, edge_logits: Tensor, is_thing: Tensor,
                     img_shape: Sequence[int], ori_shape: Sequence[int],
                     stride: int, instance_min_area: int,
                     stuff_min_area: int) -> Dict[str, Tensor]:
    """Panoptic, semantic and instance results of one image.

    Args:
        labels (Tensor): ``[h * w]`` int64 AMWC class per grid point.
        clusters (Tensor): ``[h * w]`` int64 AMWC cluster per grid point.
        sem_logits (Tensor): ``[C, h, w]`` semantic logits.
        edges (Tensor): ``[E, 2]`` int64 grid edges (``mmcv_ops.grid_graph``).
        edge_logits (Tensor): ``[E]`` boundary logits of the edges.
        is_thing (Tensor): ``[C]`` bool.
        img_shape (Sequence[int]): Resized image size seen by the network.
        ori_shape (Sequence[int]): Original image size ``(H, W)``.
        stride (int): Grid stride.
        instance_min_area (int): Minimum thing area in original pixels.
        stuff_min_area (int): Minimum stuff area in original pixels.

    Returns:
        dict: ``pan_seg`` ``[H, W]`` int64 (``class + k * INSTANCE_OFFSET``,
        void = C), ``sem_seg`` ``[H, W]`` int64 AMWC classes, and for the
        K kept thing segments ``masks`` ``[K, H, W]`` bool, ``labels``
        ``[K]`` int64, ``scores`` ``[K]`` float.
    """
    num_classes, height, width = sem_logits.shape
    if labels.numel() != height * width or clusters.numel() != height * width:
        raise ValueError(
            f'labels {tuple(labels.shape)} and clusters '
            f'{tuple(clusters.shape)} must have h * w = {height * width} '
            'entries')
    pan = amwc_panoptic_ids(labels, clusters, is_thing)
    ids, segments = torch.unique(pan, return_inverse=True)
    point_logits = sem_logits.reshape(num_classes,
                                      -1).gather(0, labels[None]).squeeze(0)
    scores = segment_scores(segments, ids.numel(), point_logits, edges,
                            edge_logits)

    def to_image(grid_values: Tensor) -> Tensor:
        return resize_grid_map(
            grid_values.view(height, width), img_shape, ori_shape, stride)

    pan_seg = remove_small_segments(
        to_image(pan), is_thing, num_classes, instance_min_area,
        stuff_min_area)
    kept = (ids >= INSTANCE_OFFSET) & torch.isin(ids, pan_seg)
    return dict(
        pan_seg=pan_seg,
        sem_seg=to_image(labels),
        masks=pan_seg[None] == ids[kept][:, None, None],
        labels=ids[kept] % INSTANCE_OFFSET,
        scores=scores[kept])
