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
from ..utils.weight_init import c2_xavier_init


def centred_differences(feats: Tensor, distance: int) -> Tensor:
    """Feature differences of pixel pairs ``distance`` apart, centred.

    As the original COPS affinity head: the difference partner - first
    pixel of the pair (y, x)-(y + d, x) (vertical) sits at (y + d // 2, x),
    of the pair (y, x)-(y, x + d) (horizontal) at (y, x + d // 2), so both
    directions of one position share a centre; positions without a pair
    hold zeros. The two maps are concatenated along channels.

    Args:
        feats (Tensor): ``[B, C, H, W]`` features.
        distance (int): Pixel offset d >= 1.

    Returns:
        Tensor: ``[B, 2C, H, W]``, channels ``[:C]`` vertical and ``[C:]``
        horizontal pairs.
    """
    height, width = feats.shape[-2:]
    rows, cols = max(height - distance, 0), max(width - distance, 0)
    top = min(distance // 2, height - rows)
    left = min(distance // 2, width - cols)
    vertical = feats[:, :, distance:distance + rows] - feats[:, :, :rows]
    horizontal = feats[..., distance:distance + cols] - feats[..., :cols]
    vertical = F.pad(vertical, (0, 0, top, height - rows - top))
    horizontal = F.pad(horizontal, (left, width - cols - left))
    return torch.cat([vertical, horizontal], dim=1)


def centred_to_first_pixel(logits: Tensor, distance: int) -> Tensor:
    """Move centred pair logits (see :func:`centred_differences`) to the
    grid convention of ``mmcv_ops.grid_graph``: the value of a pair on its
    first pixel, zeros where a pixel has no partner.

    Args:
        logits (Tensor): ``[B, 2, H, W]``, channel 0 vertical, 1
            horizontal, centred.
        distance (int): Pixel offset d >= 1.

    Returns:
        Tensor: ``[B, 2, H, W]`` on the first pixel of each pair.
    """
    height, width = logits.shape[-2:]
    rows, cols = max(height - distance, 0), max(width - distance, 0)
    before = distance // 2
    vertical = logits[:, 0:1, before:before + rows]
    horizontal = logits[:, 1:2, :, before:before + cols]
    return torch.cat([
        F.pad(vertical, (0, 0, 0, height - rows)),
        F.pad(horizontal, (0, width - cols))
    ],
                     dim=1)


@MODELS.register_module()
class COPSAffinityHead(BaseModule):
    """DeepLabV3+ decoder + detached semantic logits -> boundary logits.

    A high logit means "the two pixels lie in different segments". Each
    offset has its own classifier as in the original COPS
    (``PanopticAffinityInsEmbedHead``): 3x3 conv, 3x3 conv (norm, act), 1x1
    conv to 2 logits (vertical, horizontal). For offset 1 it reads the
    features of the first pixel (its receptive field sees the partner). For
    an offset d > 1 it reads the centred feature differences of the
    vertical and the horizontal pair concatenated
    (:func:`centred_differences`); its two 3x3 convs have 2 groups, so each
    direction has its own weights (twice the channels), and the 1x1 conv
    reads both. The logits are then moved to the first pixel of each pair
    (:func:`centred_to_first_pixel`).

    Args:
        decoder (dict): Config of the :class:`DeepLabV3PlusDecoder`.
        num_classes (int): Channels of the semantic logits concatenated to
            the decoder output.
        edge_distances (Sequence[int]): Pixel offsets d at stride 4, e.g.
            ``(1, 4, 16, 32, 64)``; each distinct and >= 1.
        head_channels (int): Channels of the two 3x3 convs.
        classifier_channels (int): Output channels per direction of the
            first 3x3 conv of each classifier; the second has half (the
            original: ``head_channels / 4`` and ``/ 8``).
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
        self.classifiers = nn.ModuleList()
        for distance in edge_distances:
            groups = 1 if distance == 1 else 2
            hidden = (groups * classifier_channels,
                      groups * (classifier_channels // 2))
            self.classifiers.append(
                nn.Sequential(
                    ConvModule(
                        groups * head_channels,
                        hidden[0],
                        3,
                        padding=1,
                        groups=groups,
                        **conv_kwargs),
                    ConvModule(
                        hidden[0],
                        hidden[1],
                        3,
                        padding=1,
                        groups=groups,
                        **conv_kwargs), nn.Conv2d(hidden[1], 2, 1)))
        self.loss_boundary = MODELS.build(loss_boundary)

    def init_weights(self) -> None:
        """As the original: every conv of the head and of the edge
        classifiers as detectron2's ``c2_xavier_fill``; once, and only
        without an ``init_cfg`` (which would say otherwise)."""
        fresh = not self.is_init and self.init_cfg is None
        super().init_weights()
        if fresh:
            c2_xavier_init([*self.convs, *(conv for classifier in
                                           self.classifiers
                                           for conv in classifier)])

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
        maps = []
        for distance, classifier in zip(self.edge_distances, self.classifiers):
            if distance == 1:
                maps.append(classifier(x))
            else:
                maps.append(
                    centred_to_first_pixel(
                        classifier(centred_differences(x, distance)),
                        distance))
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
