"""Affinity head of COPS: boundary logits of pixel pairs at several offsets."""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig


def shifted_differences(feats: Tensor, distance: int) -> Tensor:
    """Feature differences of pixel pairs ``distance`` apart.

    Follows the grid convention of ``mmcv_ops.grid_graph``: the value of the
    pair (y, x)-(y + d, x) (vertical) or (y, x)-(y, x + d) (horizontal) sits
    on its first pixel (y, x); positions without a partner hold zeros.

    Args:
        feats (Tensor): ``[B, C, H, W]`` features.
        distance (int): Pixel offset d >= 1.

    Returns:
        Tensor: ``[B, 2, C, H, W]``, index 0 vertical, 1 horizontal pairs.
    """
    height, width = feats.shape[-2:]
    rows, cols = max(height - distance, 0), max(width - distance, 0)
    vertical = feats[:, :, :rows] - feats[:, :, distance:]
    horizontal = feats[..., :cols] - feats[..., distance:]
    vertical = F.pad(vertical, (0, 0, 0, height - vertical.shape[2]))
    horizontal = F.pad(horizontal, (0, width - horizontal.shape[3]))
    return torch.stack([vertical, horizontal], dim=1)


@MODELS.register_module()
class COPSAffinityHead(BaseModule):
    """DeepLabV3+ decoder + detached semantic logits -> boundary logits.

    A high logit means "the two pixels lie in different segments". For
    offset 1 the classifier reads the features of the first pixel (its 3x3
    receptive field sees the partner) and predicts both directions; for an
    offset d > 1 one classifier reads the feature difference of the two
    pixels and is shared by both directions.

    Args:
        decoder (dict): Config of the :class:`DeepLabV3PlusDecoder`.
        num_classes (int): Channels of the semantic logits concatenated to
            the decoder output.
        edge_distances (Sequence[int]): Pixel offsets d at stride 4, e.g.
            ``(1, 4, 16, 32, 64)``; each distinct and >= 1.
        head_channels (int): Channels of the two 3x3 convs.
        classifier_channels (int): Hidden channels of each offset classifier.
        norm_cfg (dict): Normalisation layers.
        act_cfg (dict): Activation layers.
        loss_boundary (dict): Config of the boundary loss, called as
            ``loss(logits, target, weight)``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 decoder: ConfigType,
                 num_classes: int,
                 edge_distances: Sequence[int] = (1, 4, 16, 32, 64),
                 head_channels: int = 256,
                 classifier_channels: int = 64,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 loss_boundary: ConfigType = dict(type='TopKBoundaryBCELoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        edge_distances = tuple(int(d) for d in edge_distances)
        if (not edge_distances or min(edge_distances) < 1
                or len(set(edge_distances)) != len(edge_distances)):
            raise ValueError('edge_distances must be distinct offsets >= 1, '
                             f'got {edge_distances}')
        self.edge_distances = edge_distances
        self.decoder = MODELS.build(decoder)
        conv_kwargs = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.convs = nn.Sequential(
            ConvModule(
                self.decoder.out_channels + num_classes,
                head_channels,
                3,
                padding=1,
                **conv_kwargs),
            ConvModule(
                head_channels, head_channels, 3, padding=1, **conv_kwargs))
        self.classifiers = nn.ModuleList(
            nn.Sequential(
                ConvModule(head_channels, classifier_channels, 1, **
                           conv_kwargs),
                nn.Conv2d(classifier_channels, 2 if distance == 1 else 1, 1))
            for distance in edge_distances)
        self.loss_boundary = MODELS.build(loss_boundary)

    def forward(self, feats: Tuple[Tensor, ...], sem_logits: Tensor) -> Tensor:
        """Boundary logits.

        Args:
            feats (tuple[Tensor]): Backbone features ``(res2, res3, res5)``.
            sem_logits (Tensor): ``[B, C, h, w]`` semantic logits (detached
                here, so the boundary loss does not train the semantic head).

        Returns:
            Tensor: ``[B, D, 2, h, w]`` with ``D = len(edge_distances)``;
            ``[:, i, 0, y, x]`` scores the pair (y, x)-(y + d_i, x) and
            ``[:, i, 1, y, x]`` the pair (y, x)-(y, x + d_i).
        """
        x = self.convs(
            torch.cat(
                [self.decoder(feats), sem_logits.detach()], dim=1))
        batch, channels, height, width = x.shape
        maps = []
        for distance, classifier in zip(self.edge_distances, self.classifiers):
            if distance == 1:
                maps.append(classifier(x))
                continue
            pairs = shifted_differences(x, distance)
            logits = classifier(pairs.flatten(0, 1))
            maps.append(logits.view(batch, 2, height, width))
        return torch.stack(maps, dim=1)

    def loss(self, boundary_logits: Tensor, targets: Dict[str,
                                                          Tensor]) -> dict:
        """Boundary loss.

        Args:
            boundary_logits (Tensor): ``[B, D, 2, h, w]``.
            targets (dict): Batched targets with ``boundary`` and
                ``boundary_weights``, both ``[B, D, 2, h, w]`` float.

        Returns:
            dict: ``loss_boundary``.
        """
        return dict(
            loss_boundary=self.loss_boundary(boundary_logits,
                                             targets['boundary'],
                                             targets['boundary_weights']))
