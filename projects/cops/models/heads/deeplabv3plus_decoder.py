"""DeepLabV3+ decoder with two skip connections (Panoptic-DeepLab style)."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from mmseg.models.decode_heads.sep_aspp_head import \
    DepthwiseSeparableASPPModule
from mmseg.models.utils import resize
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig


@MODELS.register_module()
class DeepLabV3PlusDecoder(BaseModule):
    """ASPP on the deepest feature, then top-down fusion with projected skips.

    mmseg's ``DepthwiseSeparableASPPHead`` fuses a single low-level feature
    and carries a classifier and losses; COPS needs two skips (res3, res2)
    and a plain feature decoder shared by two heads, so this module reuses
    mmseg's ASPP branches and mmcv's conv modules and only adds the wiring.

    Args:
        in_channels (Sequence[int]): Channels of the backbone features,
            ordered from the finest (res2, stride 4) to the deepest (res5).
        aspp_channels (int): Channels of every ASPP branch and its output.
        aspp_dilations (Sequence[int]): Rates of the separable atrous
            branches; a 1x1 branch and an image-pooling branch are added.
        aspp_dropout_ratio (float): Dropout after the ASPP projection.
        project_channels (Sequence[int]): Output channels of the 1x1
            projections of the skip features, same order as
            ``in_channels[:-1]`` (e.g. 32 for res2, 64 for res3).
        decoder_channels (int): Channels of the fused decoder features.
        fuse_kernel_size (int): Kernel of the depthwise-separable fusion conv.
        norm_cfg (dict): Normalisation layers.
        act_cfg (dict): Activation layers.
        align_corners (bool): ``align_corners`` of the bilinear up-sampling.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 aspp_channels: int = 256,
                 aspp_dilations: Sequence[int] = (6, 12, 18),
                 aspp_dropout_ratio: float = 0.1,
                 project_channels: Sequence[int] = (32, 64),
                 decoder_channels: int = 256,
                 fuse_kernel_size: int = 5,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(project_channels) != len(in_channels) - 1:
            raise ValueError(
                f'project_channels {tuple(project_channels)} needs one entry '
                f'per skip feature, i.e. {len(in_channels) - 1} for '
                f'in_channels {tuple(in_channels)}')
        self.align_corners = align_corners
        conv_kwargs = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(in_channels[-1], aspp_channels, 1, **conv_kwargs))
        self.aspp = DepthwiseSeparableASPPModule(
            dilations=(1, *aspp_dilations),
            in_channels=in_channels[-1],
            channels=aspp_channels,
            conv_cfg=None,
            **conv_kwargs)
        self.aspp_project = nn.Sequential(
            ConvModule((len(aspp_dilations) + 2) * aspp_channels,
                       aspp_channels, 1, **conv_kwargs),
            nn.Dropout(aspp_dropout_ratio))
        # Skips are fused deepest first: res3 then res2.
        self.skip_projections = nn.ModuleList()
        self.fusions = nn.ModuleList()
        top_channels = aspp_channels
        for skip_in, skip_out in zip(in_channels[-2::-1],
                                     project_channels[::-1]):
            self.skip_projections.append(
                ConvModule(skip_in, skip_out, 1, **conv_kwargs))
            self.fusions.append(
                DepthwiseSeparableConvModule(
                    top_channels + skip_out,
                    decoder_channels,
                    fuse_kernel_size,
                    padding=fuse_kernel_size // 2,
                    **conv_kwargs))
            top_channels = decoder_channels
        self.out_channels = top_channels

    def _aspp(self, x: Tensor) -> Tensor:
        pooled = resize(
            self.image_pool(x),
            size=x.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        return self.aspp_project(torch.cat([pooled, *self.aspp(x)], dim=1))

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Decode backbone features.

        Args:
            feats (tuple[Tensor]): Features ``[B, C_i, H_i, W_i]`` ordered
                as ``in_channels``, finest first.

        Returns:
            Tensor: Decoded features ``[B, decoder_channels, H_0, W_0]`` at
            the resolution of the finest feature.
        """
        x = self._aspp(feats[-1])
        for skip, project, fuse in zip(feats[-2::-1], self.skip_projections,
                                       self.fusions):
            skip = project(skip)
            x = resize(
                x,
                size=skip.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
            x = fuse(torch.cat([x, skip], dim=1))
        return x
