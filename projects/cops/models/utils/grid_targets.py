"""Batch the per-image COPS targets to the network's output grid."""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor

#: Fields of ``gt_cops_targets`` (see ``PackCOPSInputs``).
_TARGET_FIELDS = ('sem_seg', 'sem_weights', 'pan_seg', 'boundary',
                  'boundary_weights')


def stack_grid_targets(targets: Sequence[PixelData],
                       grid_shape: Tuple[int, int],
                       ignore_index: int = 255) -> Dict[str, Tensor]:
    """Pad the targets of each image to ``grid_shape`` and stack them.

    The images of a batch are padded bottom/right to a common size by the
    data preprocessor, so each image's targets (of its own grid size
    ``ceil(img_shape / stride)``) are padded the same way: labels with
    ``ignore_index``, weights and boundary targets with 0.

    Args:
        targets (Sequence[PixelData]): ``gt_cops_targets`` of each image as
            packed by ``PackCOPSInputs``.
        grid_shape (tuple[int, int]): ``(h, w)`` of the network output.
        ignore_index (int): Void label of ``sem_seg`` and ``pan_seg``.

    Returns:
        dict: ``sem_seg``, ``pan_seg`` ``[B, h, w]`` int64, ``sem_weights``
        ``[B, h, w]`` float, ``boundary``, ``boundary_weights``
        ``[B, D, 2, h, w]`` float.
    """
    height, width = grid_shape
    stacked = {}
    for name in _TARGET_FIELDS:
        pad_value = ignore_index if name in ('sem_seg', 'pan_seg') else 0
        padded = []
        for target in targets:
            value = target.get(name)
            if value is None:
                raise KeyError(
                    f'gt_cops_targets has no "{name}"; build it with '
                    'GenerateCOPSTargets and pack with PackCOPSInputs')
            grid_h, grid_w = value.shape[-2:]
            if grid_h > height or grid_w > width:
                raise ValueError(
                    f'target grid {(grid_h, grid_w)} exceeds the network '
                    f'output {(height, width)}; check the targets stride')
            padded.append(
                F.pad(
                    value, (0, width - grid_w, 0, height - grid_h),
                    value=pad_value))
        stacked[name] = torch.stack(padded)
    for name in ('sem_seg', 'sem_weights', 'pan_seg'):
        stacked[name] = stacked[name].squeeze(1)
    for name in ('boundary', 'boundary_weights'):
        stacked[name] = stacked[name].unflatten(1, (-1, 2))
    return stacked
