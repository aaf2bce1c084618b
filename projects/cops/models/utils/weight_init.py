"""The initialisation of the original COPS heads (detectron2's fills)."""
from typing import Iterable

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import kaiming_init


def c2_xavier_init(modules: Iterable[nn.Module]) -> None:
    """Initialise convs as detectron2's ``c2_xavier_fill``.

    Kaiming-uniform with ``a = 1`` over the fan-in (Caffe2's XavierFill),
    bias 0: what the original heads give their plain convs (head, skip
    projections, ASPP 1x1, pooling and fusion convs, edge classifiers). The
    depthwise-separable convs keep mmcv's default, which equals detectron2's
    ``c2_msra_fill`` (Kaiming-normal over the fan-out). Call it from
    ``init_weights`` after ``super().init_weights()``: mmcv's
    ``ConvModule.init_weights`` runs after a parent's ``init_cfg`` and would
    overwrite an ``init_cfg`` override.

    Args:
        modules (Iterable[nn.Module]): ``ConvModule`` or ``nn.Conv2d``.
    """
    for module in modules:
        conv = module.conv if isinstance(module, ConvModule) else module
        kaiming_init(
            conv,
            a=1,
            mode='fan_in',
            nonlinearity='leaky_relu',
            distribution='uniform')
