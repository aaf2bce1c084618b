"""DeepLabV3+ decoder with two skip connections (Panoptic-DeepLab style)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from mmseg.models.decode_heads.sep_aspp_head import \
    DepthwiseSeparableASPPModule
from mmseg.models.utils import resize
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from ..utils.weight_init import c2_xavier_init


@MODELS.register_module()
class DeepLabV3PlusDecoder(BaseModule):
    """ASPP on the deepest feature, then top-down fusion with projected skips.

    mmseg's ``DepthwiseSeparableASPPHead`` fuses a single low-level feature
    and carries a classifier and losses; COPS needs two skips (res3, res2)
    and a plain feature decoder shared by two heads, so this module reuses
    mmseg's ASPP branches and mmcv's conv modules and only adds the wiring.

    Layer for layer as detectron2's ``DeepLabV3PlusHead`` with
    depthwise-separable convs (the COPS decoders), so that its weights
    convert one to one: ASPP outputs concatenated as (1x1, atrous branches,
    image pooling); the image-pooling branch is a 1x1 conv with bias and
    ReLU, no norm (its input is one value per channel and image, on which
    batch statistics are meaningless, and batch 1 could not train);
    each fusion reads (projected skip, up-sampled top) in that order.

    Args:
        in_channels (Sequence[int]): Channels of the backbone features,
            ordered from the finest (res2, stride 4) to the deepest (res5).
        aspp_channels (int): Channels of every ASPP branch and its output.
        aspp_dilations (Sequence[int]): Rates of the separable atrous
            branches; a 1x1 branch and an image-pooling branch are added.
        aspp_dropout_ratio (float): Dropout after the ASPP projection.
        aspp_pool_kernel (tuple[int, int], optional): Window ``(h, w)`` of
            the image-pooling branch in points of the deepest feature, with
            stride 1, then up-sampled bilinearly (detectron2's
            ``pool_kernel_size`` = training crop / encoder stride, so that
            a test image larger than the crop sees crop-sized context as in
            training). A window larger than the feature is clipped to it.
            None pools globally.
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
                 aspp_pool_kernel: Optional[Sequence[int]] = None,
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
        if aspp_pool_kernel is not None:
            aspp_pool_kernel = tuple(int(k) for k in aspp_pool_kernel)
            if len(aspp_pool_kernel) != 2 or min(aspp_pool_kernel) < 1:
                raise ValueError('aspp_pool_kernel must be (h, w) >= 1 or '
                                 f'None, got {aspp_pool_kernel}')
        self.aspp_pool_kernel = aspp_pool_kernel
        self.align_corners = align_corners
        conv_kwargs = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.image_pool = ConvModule(
            in_channels[-1], aspp_channels, 1, norm_cfg=None, act_cfg=act_cfg)
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
                    skip_out + top_channels,
                    decoder_channels,
                    fuse_kernel_size,
                    padding=fuse_kernel_size // 2,
                    **conv_kwargs))
            top_channels = decoder_channels
        self.out_channels = top_channels

    def init_weights(self) -> None:
        """As detectron2's ``DeepLabV3PlusHead`` and ``ASPP``: the plain
        convs (ASPP 1x1 branch, pooling, ASPP projection, skip projections)
        as ``c2_xavier_fill``; the depthwise-separable convs keep mmcv's
        default, equal to ``c2_msra_fill``. Once, and only without an
        ``init_cfg`` (which would say otherwise)."""
        fresh = not self.is_init and self.init_cfg is None
        super().init_weights()
        if fresh:
            c2_xavier_init([
                self.aspp[0], self.image_pool, self.aspp_project[0],
                *self.skip_projections
            ])

    def image_pooling(self, x: Tensor) -> Tensor:
        """ASPP image-pooling branch of ``[B, C, h, w]`` features: average
        over the window (or globally), 1x1 conv + act, bilinear back to
        ``h, w``."""
        if self.aspp_pool_kernel is None:
            pooled = x.mean(dim=(2, 3), keepdim=True)
        else:
            kernel = [
                min(k, size)
                for k, size in zip(self.aspp_pool_kernel, x.shape[2:])
            ]
            pooled = F.avg_pool2d(x, kernel, stride=1)
        return resize(
            self.image_pool(pooled),
            size=x.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)

    def _aspp(self, x: Tensor) -> Tensor:
        return self.aspp_project(
            torch.cat([*self.aspp(x), self.image_pooling(x)], dim=1))

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
            x = fuse(torch.cat([skip, x], dim=1))
        return x
