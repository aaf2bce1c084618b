"""The AMWC layer: panoptic masks from costs, differentiable through the
solver."""
from typing import Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from .amwc_function import AMWCFunction, AMWCSettings


@MODELS.register_module()
class AMWCLayer(nn.Module):
    """Asymmetric multiway cut of node and edge costs as a network layer.

    Forward solves the AMWC of every image (one threaded solver call) and
    returns its panoptic masks; backward turns ``dL/d(masks)`` into gradients
    of the node and edge costs by perturbed multiway-cut solves (see
    :mod:`.amwc_function`). Classes ``0..num_things_classes - 1`` are things
    (partitionable into instances), the others stuff.

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
    """

    def __init__(self,
                 num_things_classes: int,
                 num_stuff_classes: int,
                 edge_distances: Sequence[int],
                 min_instance_area: int = 0,
                 lambda_range: Sequence[float] = (1., 5000.),
                 num_samples: int = 5,
                 num_threads: Optional[int] = None) -> None:
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
        self.num_classes = num_classes
        self.register_buffer(
            'partitionable',
            torch.arange(num_classes) < num_things_classes,
            persistent=False)
        self.settings = AMWCSettings(
            offsets=tuple(int(d) for d in edge_distances),
            min_instance_area=int(min_instance_area),
            lambda_range=(float(lambda_range[0]), float(lambda_range[1])),
            num_samples=int(num_samples),
            num_threads=num_threads)

    def forward(self, node_costs: Tensor,
                edge_costs: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Solve the AMWC of a batch.

        Args:
            node_costs (Tensor): [B, C, H, W] float cost of each class per
                pixel (lower = preferred).
            edge_costs (Tensor): [B, D, 2, H, W] float cost of cutting each
                edge (``mmcv_ops`` grid convention: channel 0 vertical, 1
                horizontal, value on the top / left pixel; > 0 prefers
                joining).

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``masks`` [B, M, H, W] 0/1 float,
            differentiable (stuff masks in class order, then instances);
            ``classes`` [B, M] int64 (-1 for padding); ``valid`` [B, M] bool.
        """
        num_offsets = len(self.settings.offsets)
        if node_costs.dim() != 4 or node_costs.shape[1] != self.num_classes:
            raise ValueError(f'node_costs must be [B, {self.num_classes}, H, '
                             f'W], got {tuple(node_costs.shape)}')
        expected = (node_costs.shape[0], num_offsets, 2) + tuple(
            node_costs.shape[2:])
        if tuple(edge_costs.shape) != expected:
            raise ValueError(f'edge_costs must be {expected} '
                             f'[B, D, 2, H, W], got {tuple(edge_costs.shape)}')
        return AMWCFunction.apply(node_costs, edge_costs, self.partitionable,
                                  self.settings)
