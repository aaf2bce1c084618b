"""Training targets of COPS: semantic and pixel-pair boundary targets."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import TRANSFORMS


def _pair_maps(values: np.ndarray, distance: int, axis: int, fill) -> tuple:
    """First and second pixel of every pair ``distance`` apart along
    ``axis``, aligned on the first pixel; missing partners get ``fill``."""
    size = values.shape[axis]
    keep = max(size - distance, 0)
    first = np.full_like(values, fill)
    second = np.full_like(values, fill)
    index = [slice(None)] * values.ndim
    index[axis] = slice(0, keep)
    first[tuple(index)] = np.take(values, np.arange(keep), axis=axis)
    second[tuple(index)] = np.take(
        values, np.arange(distance, distance + keep), axis=axis)
    return first, second


def semantic_weights(sem_seg: np.ndarray,
                     instance_masks: np.ndarray,
                     instance_ignore: np.ndarray,
                     ignore_index: int = 255,
                     small_instance_area: int = 4096,
                     small_instance_weight: float = 3.0) -> np.ndarray:
    """Per-pixel weights of the semantic loss (the original's
    ``sem_seg_weights``): 0 on void, ``small_instance_weight`` on the pixels
    of non-crowd instances smaller than ``small_instance_area`` pixels, 1
    elsewhere.

    Args:
        sem_seg (np.ndarray): ``[H, W]`` classes, ``ignore_index`` = void.
        instance_masks (np.ndarray): ``[K, H, W]`` bool thing instances.
        instance_ignore (np.ndarray): ``[K]`` bool crowd flags.

    Returns:
        np.ndarray: ``[H, W]`` float32.
    """
    masks = instance_masks.astype(bool)
    small = (masks.sum(axis=(1, 2)) < small_instance_area) & ~np.asarray(
        instance_ignore, dtype=bool)
    small_pixels = masks[small].any(axis=0) if small.any() else False
    weights = np.where(small_pixels, small_instance_weight,
                       1.0).astype(np.float32)
    weights = np.broadcast_to(weights, sem_seg.shape).copy()
    weights[sem_seg == ignore_index] = 0
    return weights


def cops_targets(
        sem_seg: np.ndarray,
        instance_masks: np.ndarray,
        instance_ignore: Optional[np.ndarray],
        edge_distances: Sequence[int],
        stride: int = 4,
        ignore_index: int = 255,
        small_instance_area: int = 4096,
        small_instance_weight: float = 3.0,
        instance_boundary_weight: float = 4.0) -> Dict[str, np.ndarray]:
    """Build the COPS targets on the stride-``stride`` grid.

    The grid point (i, j) samples the pixel (min(i*s + s//2, H-1),
    min(j*s + s//2, W-1)), so the grid has ceil(H/s) x ceil(W/s) points,
    the size of the network's stride-``s`` output for an input of H x W.
    Pair values follow ``mmcv_ops.grid_graph``: the pair (i, j)-(i + d, j)
    is stored at [k, 0, i, j] and (i, j)-(i, j + d) at [k, 1, i, j] for the
    k-th offset d; positions without a partner hold target 0, weight 0.

    Args:
        sem_seg (np.ndarray): ``[H, W]`` class per pixel, ``ignore_index``
            for void.
        instance_masks (np.ndarray): ``[K, H, W]`` bool, one mask per thing
            instance (non-overlapping).
        instance_ignore (np.ndarray, optional): ``[K]`` bool, True for crowd
            regions: their pixels keep their class but no pair touching them
            is trained (which instance they belong to is unknown).
        edge_distances (Sequence[int]): Offsets d on the grid.
        stride (int): Grid stride in pixels.
        ignore_index (int): Void value of ``sem_seg`` and of ``pan_seg``.
        small_instance_area (int): Instances with fewer pixels (at input
            resolution) are "small".
        small_instance_weight (float): Weight factor of small instances,
            semantic and boundary.
        instance_boundary_weight (float): Boundary weight of instance
            pixels. As the original's target generator, each labelled pixel
            has a boundary weight (1, instance pixels
            ``instance_boundary_weight``, small-instance pixels that times
            ``small_instance_weight``) and a pair the larger weight of its
            two pixels; a pair touching void or crowd weighs 0.

    Returns:
        dict: on the ``[h, w]`` grid,

        - ``sem_seg``: ``[h, w]`` int64 class, ``ignore_index`` for void.
        - ``sem_weights``: ``[h, w]`` float32, 0 for void.
        - ``pan_seg``: ``[h, w]`` int64 ``class + k * INSTANCE_OFFSET``
          (k = 1..K instance number, 0 for stuff), ``ignore_index`` for
          void and crowd pixels.
        - ``boundary``: ``[D, 2, h, w]`` float32, 1 where the two pixels
          lie in different segments.
        - ``boundary_weights``: ``[D, 2, h, w]`` float32.
    """
    if sem_seg.ndim != 2:
        raise ValueError(f'sem_seg must be [H, W], got {sem_seg.shape}')
    if instance_masks.ndim != 3 or instance_masks.shape[1:] != sem_seg.shape:
        raise ValueError(f'instance_masks must be [K, {sem_seg.shape[0]}, '
                         f'{sem_seg.shape[1]}], got {instance_masks.shape}')
    num_instances = instance_masks.shape[0]
    if instance_ignore is None:
        instance_ignore = np.zeros(num_instances, dtype=bool)
    if len(instance_ignore) != num_instances:
        raise ValueError(f'instance_ignore has {len(instance_ignore)} flags '
                         f'for {num_instances} instance masks')
    height, width = sem_seg.shape
    rows = np.minimum(
        np.arange(-(-height // stride)) * stride + stride // 2, height - 1)
    cols = np.minimum(
        np.arange(-(-width // stride)) * stride + stride // 2, width - 1)

    masks = instance_masks.astype(bool)
    grid_masks = masks[:, rows][:, :, cols]
    numbers = np.arange(1, num_instances + 1).reshape(-1, 1, 1)
    instance = (grid_masks * numbers).max(axis=0, initial=0)
    sem = sem_seg[np.ix_(rows, cols)].astype(np.int64)

    # Per instance number (0 = no instance): crowd flag and smallness.
    crowd_flags = np.concatenate([[False], instance_ignore.astype(bool)])
    small_flags = np.concatenate([[False],
                                  masks.sum(axis=(1, 2))
                                  < small_instance_area])
    is_void = sem == ignore_index
    is_crowd = crowd_flags[instance]
    is_instance = (instance > 0) & ~is_crowd
    sem_weights = semantic_weights(sem_seg, masks, instance_ignore,
                                   ignore_index, small_instance_area,
                                   small_instance_weight)[np.ix_(rows, cols)]
    pan = sem + instance * INSTANCE_OFFSET
    pan[is_void | is_crowd] = ignore_index

    known = ~(is_void | is_crowd)
    pixel_weights = np.where(
        is_instance, instance_boundary_weight *
        np.where(small_flags[instance], small_instance_weight, 1.0), 1.0)
    pixel_weights[~known] = 0
    boundary = np.zeros((len(edge_distances), 2, *sem.shape), np.float32)
    boundary_weights = np.zeros_like(boundary)
    for k, distance in enumerate(edge_distances):
        for direction, axis in enumerate((0, 1)):
            pan_a, pan_b = _pair_maps(pan, distance, axis, ignore_index)
            known_a, known_b = _pair_maps(known, distance, axis, False)
            weight_a, weight_b = _pair_maps(pixel_weights, distance, axis, 0)
            boundary[k, direction] = (pan_a != pan_b) & known_a & known_b
            boundary_weights[k, direction] = np.where(
                known_a & known_b, np.maximum(weight_a, weight_b), 0.0)
    return dict(
        sem_seg=sem,
        sem_weights=sem_weights.astype(np.float32),
        pan_seg=pan,
        boundary=boundary,
        boundary_weights=boundary_weights)


@TRANSFORMS.register_module()
class GenerateCOPSTargets(BaseTransform):
    """Add the COPS training targets (see :func:`cops_targets`).

    Place it after all geometric transforms and before
    :class:`PackCOPSInputs`.

    Required Keys:

    - gt_seg_map (np.ndarray): ``[H, W]`` classes, ``ignore_index`` = void
      (as written by ``LoadPanopticAnnotations``).
    - gt_masks (BitmapMasks): thing instance masks.
    - gt_ignore_flags (np.ndarray, optional): crowd flags of the masks.

    Added Keys:

    - gt_cops_targets (dict[str, np.ndarray]): the arrays returned by
      :func:`cops_targets`.
    - gt_cops_pixel_targets (dict[str, np.ndarray]): the semantic targets
      at input resolution, ``sem_seg`` ``[H, W]`` int64 and
      ``sem_weights`` ``[H, W]`` float32 (:func:`semantic_weights`); the
      original COPS trains the semantic head on its x4 up-sampled logits
      against these.

    Args:
        edge_distances (Sequence[int]): Offsets d on the stride grid.
        stride (int): Output stride of the network.
        ignore_index (int): Void label.
        small_instance_area (int): Area (pixels) below which an instance is
            small.
        small_instance_weight (float): Weight factor of small instances
            (semantic and boundary).
        instance_boundary_weight (float): Boundary weight of instance
            pixels (a pair weighs the larger of its two pixels' weights).
    """

    def __init__(self,
                 edge_distances: Sequence[int],
                 stride: int = 4,
                 ignore_index: int = 255,
                 small_instance_area: int = 4096,
                 small_instance_weight: float = 3.0,
                 instance_boundary_weight: float = 4.0) -> None:
        if not edge_distances or min(edge_distances) < 1:
            raise ValueError('edge_distances must be offsets >= 1, got '
                             f'{edge_distances}')
        if stride < 1:
            raise ValueError(f'stride must be >= 1, got {stride}')
        self.edge_distances = tuple(edge_distances)
        self.stride = stride
        self.ignore_index = ignore_index
        self.small_instance_area = small_instance_area
        self.small_instance_weight = small_instance_weight
        self.instance_boundary_weight = instance_boundary_weight

    def transform(self, results: dict) -> dict:
        for key in ('gt_seg_map', 'gt_masks'):
            if key not in results:
                raise KeyError(
                    f'GenerateCOPSTargets needs "{key}"; load it with '
                    'LoadPanopticAnnotations(with_mask=True, with_seg=True)')
        results['gt_cops_targets'] = cops_targets(
            results['gt_seg_map'],
            results['gt_masks'].to_ndarray(),
            results.get('gt_ignore_flags'),
            self.edge_distances,
            stride=self.stride,
            ignore_index=self.ignore_index,
            small_instance_area=self.small_instance_area,
            small_instance_weight=self.small_instance_weight,
            instance_boundary_weight=self.instance_boundary_weight)
        results['gt_cops_pixel_targets'] = dict(
            sem_seg=results['gt_seg_map'].astype(np.int64),
            sem_weights=semantic_weights(
                results['gt_seg_map'],
                results['gt_masks'].to_ndarray(),
                results.get('gt_ignore_flags',
                            np.zeros(len(results['gt_masks']), bool)),
                ignore_index=self.ignore_index,
                small_instance_area=self.small_instance_area,
                small_instance_weight=self.small_instance_weight))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(edge_distances='
                f'{self.edge_distances}, stride={self.stride}, '
                f'small_instance_area={self.small_instance_area})')
