"""The AMWC layer: panoptic masks from costs, differentiable through the
solver."""
from typing import Optional, Sequence

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from .amwc_function import BASELINES, AMWCFunction, AMWCSegments, AMWCSettings


@MODELS.register_module()
class AMWCLayer(nn.Module):
    """Asymmetric multiway cut of node and edge costs as a network layer.

    Forward solves the AMWC of every image (one threaded solver call) and
    returns its panoptic segments as :class:`AMWCSegments`: a segment-id map,
    classes and, differentiably, each segment's weighted overlap with the
    regions of a given region map (e.g. the ground-truth segments) and its
    areas. Backward turns the gradients of those into gradients of the node
    and edge costs by perturbed multiway-cut solves; memory does not grow
    with the number of segments times pixels (see :mod:`.amwc_function` for
    the design and for what happens with thousands of tiny clusters).
    Classes ``0..num_things_classes - 1`` are things (partitionable into
    instances), the others stuff.

    Args:
        num_things_classes (int): number of thing classes.
        num_stuff_classes (int): number of stuff classes.
        edge_distances (Sequence[int]): pixel offsets of the edge maps.
        min_instance_area (int): thing clusters smaller than this (pixels at
            cost resolution) get no mask.
        lambda_range (Sequence[float]): ``[start, end]`` of the perturbation
            strength, drawn uniformly per backward sample.
        num_samples (int): backward samples K averaged per image.
        num_threads (int, optional): solver threads; None = solver default.
        baseline (str): the unperturbed solution of the finite differences:
            ``'amwc'`` the forward AMWC solution (the original's), ``'mwc'``
            a multiway-cut solve at nearly unperturbed costs (same solver as
            the samples; see :mod:`.amwc_function`).
        plain_thing_labels (bool): give every thing class a plain label
            ("an instance not predicted") in the backward; the original has
            plain labels only for classes without a predicted segment.
        max_labels (int): most segments per image with their own backward
            label; segments beyond it (smallest gradient first) are pooled
            into their class's plain label and get no gradient (logged).
        warm_start (bool): start the backward's perturbed solves from the
            forward solution, the pixels a perturbation pushes away from
            their label starting alone: with the PQ loss a quarter to a
            half of the cold solves' time (docs/solver.md); False (the
            original's) solves from scratch.
        empty_segments (bool): also return, per image, an empty segment per
            thing class and per absent stuff class (not in the original).
            :class:`PQSurrogateLoss` pairs every unmatched ground-truth
            segment with the empty segment of its class, which gives a
            wrongly classified or missed segment the gradient that moves it
            into its class; without them it gets none
            (docs/experiments.md).
    """

    def __init__(self,
                 num_things_classes: int,
                 num_stuff_classes: int,
                 edge_distances: Sequence[int],
                 min_instance_area: int = 0,
                 lambda_range: Sequence[float] = (1., 5000.),
                 num_samples: int = 5,
                 num_threads: Optional[int] = None,
                 baseline: str = 'amwc',
                 plain_thing_labels: bool = False,
                 max_labels: int = 128,
                 warm_start: bool = False,
                 empty_segments: bool = False) -> None:
        super().__init__()
        num_classes = num_things_classes + num_stuff_classes
        if num_things_classes < 0 or num_stuff_classes < 0 or num_classes == 0:
            raise ValueError('need a positive number of classes, got '
                             f'num_things_classes={num_things_classes}, '
                             f'num_stuff_classes={num_stuff_classes}')
        if len(edge_distances) == 0 or min(edge_distances) < 1:
            raise ValueError('edge_distances must be positive offsets, got '
                             f'{edge_distances}')
        if len(lambda_range
               ) != 2 or not 0 < lambda_range[0] <= (lambda_range[1]):
            raise ValueError('lambda_range must be [start, end] with '
                             f'0 < start <= end, got {lambda_range}')
        if num_samples < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}')
        if baseline not in BASELINES:
            raise ValueError(f'baseline must be one of {BASELINES}, got '
                             f'{baseline!r}')
        if max_labels < 1:
            raise ValueError(f'max_labels must be >= 1, got {max_labels}')
        self.num_classes = num_classes
        self.register_buffer(
            'partitionable',
            torch.arange(num_classes) < num_things_classes,
            persistent=False)
        self.settings = AMWCSettings(
            edge_distances=tuple(int(d) for d in edge_distances),
            min_instance_area=int(min_instance_area),
            lambda_range=(float(lambda_range[0]), float(lambda_range[1])),
            num_samples=int(num_samples),
            num_threads=num_threads,
            baseline=baseline,
            plain_thing_labels=bool(plain_thing_labels),
            max_labels=int(max_labels),
            warm_start=bool(warm_start),
            empty_segments=bool(empty_segments))

    def forward(self,
                node_costs: Tensor,
                edge_costs: Tensor,
                regions: Optional[Tensor] = None,
                weights: Optional[Tensor] = None) -> AMWCSegments:
        """Solve the AMWC of a batch.

        Args:
            node_costs (Tensor): [B, C, H, W] float cost of each class per
                pixel (lower = preferred).
            edge_costs (Tensor): [B, D, 2, H, W] float cost of cutting each
                edge (``mmcv_ops`` grid convention: channel 0 vertical, 1
                horizontal, value on the top / left pixel; > 0 prefers
                joining).
            regions (Tensor, optional): [B, H, W] int64 region of each pixel
                (``0..R - 1``, -1 = none); None: no regions (R = 0).
            weights (Tensor, optional): [B, H, W] pixel weights of the
                weighted overlaps and areas; None: all ones.

        Returns:
            AMWCSegments: stuff segments in class order, then instances,
            then (``empty_segments``) the empty segments in class order.
        """
        num_edge_distances = len(self.settings.edge_distances)
        if node_costs.dim() != 4 or node_costs.shape[1] != self.num_classes:
            raise ValueError(f'node_costs must be [B, {self.num_classes}, H, '
                             f'W], got {tuple(node_costs.shape)}')
        expected = (node_costs.shape[0], num_edge_distances, 2) + tuple(
            node_costs.shape[2:])
        if tuple(edge_costs.shape) != expected:
            raise ValueError(f'edge_costs must be {expected} '
                             f'[B, D, 2, H, W], got {tuple(edge_costs.shape)}')
        image_shape = node_costs.shape[:1] + node_costs.shape[2:]
        if regions is None:
            regions = torch.full(image_shape, -1, dtype=torch.long)
        if weights is None:
            weights = torch.ones(image_shape)
        for name, value in (('regions', regions), ('weights', weights)):
            if value.shape != image_shape:
                raise ValueError(f'{name} must be [B, H, W] = '
                                 f'{tuple(image_shape)}, got '
                                 f'{tuple(value.shape)}')
        if regions.dtype != torch.long or (regions < -1).any():
            raise ValueError('regions must be int64 region ids >= -1, got '
                             f'{regions.dtype}')
        return AMWCSegments(*AMWCFunction.apply(
            node_costs, edge_costs, regions, weights, self.partitionable,
            self.settings))
