"""Semantic head of COPS: per-pixel class logits at stride 4."""
from typing import Dict, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, normal_init
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from ..utils.weight_init import c2_xavier_init


@MODELS.register_module()
class COPSSemanticHead(BaseModule):
    """DeepLabV3+ decoder, two 3x3 convs and a 1x1 class predictor.

    Args:
        decoder (dict): Config of the :class:`DeepLabV3PlusDecoder`.
        num_classes (int): Things first, then stuff.
        head_channels (int): Channels of the two 3x3 convs.
        norm_cfg (dict): Normalisation layers.
        act_cfg (dict): Activation layers.
        loss_sem (dict): Config of the semantic loss, called as
            ``loss(logits, target, weight)``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 decoder: ConfigType,
                 num_classes: int,
                 head_channels: int = 256,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 loss_sem: ConfigType = dict(type='HardPixelCELoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.decoder = MODELS.build(decoder)
        self.convs = nn.Sequential(
            ConvModule(
                self.decoder.out_channels,
                head_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            ConvModule(
                head_channels,
                head_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg))
        self.conv_seg = nn.Conv2d(head_channels, num_classes, 1)
        self.loss_sem = MODELS.build(loss_sem)

    def init_weights(self) -> None:
        """As the original: head convs as detectron2's ``c2_xavier_fill``,
        the predictor normal(0, 0.001) with bias 0; once, and only without
        an ``init_cfg`` (which would say otherwise)."""
        fresh = not self.is_init and self.init_cfg is None
        super().init_weights()
        if fresh:
            c2_xavier_init(self.convs)
            normal_init(self.conv_seg, std=0.001)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Class logits ``[B, num_classes, H/4, W/4]`` from the backbone
        features ``(res2, res3, res5)``."""
        return self.conv_seg(self.convs(self.decoder(feats)))

    def loss(self, sem_logits: Tensor, targets: Dict[str, Tensor]) -> dict:
        """Semantic loss at input resolution.

        As the original COPS (``PanopticAffinitySemSegHead.losses``): the
        logits are up-sampled bilinearly to the size of the labels (x4) and
        compared with the input-resolution labels.

        Args:
            sem_logits (Tensor): ``[B, C, h, w]`` class logits.
            targets (dict): Batched targets with ``pixel_sem_seg``
                ``[B, H, W]`` int64 and ``pixel_sem_weights`` ``[B, H, W]``
                float at input resolution.

        Returns:
            dict: ``loss_sem``.
        """
        labels = targets['pixel_sem_seg']
        logits = F.interpolate(
            sem_logits,
            size=labels.shape[-2:],
            mode='bilinear',
            align_corners=False)
        return dict(
            loss_sem=self.loss_sem(logits, labels,
                                   targets['pixel_sem_weights']))
