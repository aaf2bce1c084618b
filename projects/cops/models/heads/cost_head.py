"""AMWC costs from the network's logits, with learnable affine scalars."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig


@MODELS.register_module()
class AMWCCostHead(BaseModule):
    """Node and edge costs of the asymmetric multiway cut.

    ``node_costs = -sem_logits * a + b`` and, per offset d,
    ``edge_costs = -boundary_logits * |a_d| + b_d``: a confident class gets
    a low node cost and a confident boundary a negative edge cost (cutting
    it lowers the objective); ``|a_d|`` keeps that orientation while the
    scalars are learnt end to end (stage 2).

    Args:
        num_edge_distances (int): Number of pixel offsets D.
        node_scale (float): Initial ``a``.
        node_bias (float): Initial ``b``.
        edge_scale (float): Initial ``a_d`` of every offset.
        edge_bias (float): Initial ``b_d`` of every offset.
        dropout_ratio (float): Cost dropout in training mode, as the
            original COPS (``PanopticAffinityAMWC.forward``, 0.1 when
            training through the solver): after the affine map, each point
            has all its node costs zeroed with this probability and each
            edge cost is zeroed independently; kept costs are not rescaled
            (1 / (1 - p) would change the costs the solver sees).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 num_edge_distances: int,
                 node_scale: float = 1.0,
                 node_bias: float = 0.0,
                 edge_scale: float = 1.0,
                 edge_bias: float = 0.0,
                 dropout_ratio: float = 0.0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_edge_distances < 1:
            raise ValueError('num_edge_distances must be >= 1, got '
                             f'{num_edge_distances}')
        self.node_scale = nn.Parameter(torch.tensor(float(node_scale)))
        self.node_bias = nn.Parameter(torch.tensor(float(node_bias)))
        self.edge_scales = nn.Parameter(
            torch.full((num_edge_distances, ), float(edge_scale)))
        self.edge_biases = nn.Parameter(
            torch.full((num_edge_distances, ), float(edge_bias)))
        self.dropout_ratio = dropout_ratio

    def forward(self, sem_logits: Tensor,
                boundary_logits: Tensor) -> Tuple[Tensor, Tensor]:
        """Map logits to costs.

        Args:
            sem_logits (Tensor): ``[B, C, h, w]`` class logits.
            boundary_logits (Tensor): ``[B, D, 2, h, w]`` boundary logits
                (grid convention of ``mmcv_ops.grid_graph``).

        Returns:
            tuple[Tensor, Tensor]: node costs ``[B, C, h, w]`` and edge costs
            ``[B, D, 2, h, w]``, same dtype as the logits.
        """
        num_distances = self.edge_scales.numel()
        if boundary_logits.dim() != 5 or boundary_logits.shape[1] != (
                num_distances):
            raise ValueError(
                f'boundary_logits must be [B, {num_distances}, 2, h, w], '
                f'got {tuple(boundary_logits.shape)}')
        node_costs = -sem_logits * self.node_scale + self.node_bias
        edge_scales = self.edge_scales.abs().view(1, -1, 1, 1, 1)
        edge_biases = self.edge_biases.view(1, -1, 1, 1, 1)
        edge_costs = -boundary_logits * edge_scales + edge_biases
        if self.training and self.dropout_ratio > 0:
            batch, _, height, width = node_costs.shape
            node_costs = node_costs * self._keep_mask(
                (batch, 1, height, width), node_costs)
            edge_costs = edge_costs * self._keep_mask(edge_costs.shape,
                                                      edge_costs)
        return node_costs, edge_costs

    def _keep_mask(self, shape: Sequence[int], like: Tensor) -> Tensor:
        """Bernoulli(1 - dropout_ratio) mask, unscaled (``F.dropout``
        rescales the kept values, hence this)."""
        keep = torch.rand(shape, device=like.device) >= self.dropout_ratio
        return keep.to(like.dtype)
