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
    stacked = {
        name: _pad_and_stack(targets, name, grid_shape,
                             ignore_index if name in ('sem_seg',
                                                      'pan_seg') else 0,
                             'gt_cops_targets')
        for name in _TARGET_FIELDS
    }
    for name in ('sem_seg', 'sem_weights', 'pan_seg'):
        stacked[name] = stacked[name].squeeze(1)
    for name in ('boundary', 'boundary_weights'):
        stacked[name] = stacked[name].unflatten(1, (-1, 2))
    return stacked


def stack_pixel_targets(targets: Sequence[PixelData], shape: Tuple[int, int],
                        ignore_index: int = 255) -> Dict[str, Tensor]:
    """Pad the input-resolution semantic targets of each image to the
    batch's input size and stack them (labels padded with
    ``ignore_index``, weights with 0, as the data preprocessor pads the
    images bottom/right).

    Args:
        targets (Sequence[PixelData]): ``gt_cops_pixel_targets`` of each
            image as packed by ``PackCOPSInputs``.
        shape (tuple[int, int]): ``(H, W)`` of the padded batch.
        ignore_index (int): Void label.

    Returns:
        dict: ``sem_seg`` ``[B, H, W]`` int64, ``sem_weights`` ``[B, H, W]``
        float.
    """
    return {
        name: _pad_and_stack(targets, name, shape,
                             ignore_index if name == 'sem_seg' else 0,
                             'gt_cops_pixel_targets').squeeze(1)
        for name in ('sem_seg', 'sem_weights')
    }


def _pad_and_stack(targets: Sequence[PixelData], name: str,
                   shape: Tuple[int, int], pad_value: int,
                   key: str) -> Tensor:
    """Field ``name`` of every target padded bottom/right to ``shape``."""
    height, width = shape
    padded = []
    for target in targets:
        value = None if target is None else target.get(name)
        if value is None:
            raise KeyError(f'{key} has no "{name}"; build it with '
                           'GenerateCOPSTargets and pack with PackCOPSInputs')
        target_h, target_w = value.shape[-2:]
        if target_h > height or target_w > width:
            raise ValueError(
                f'{key} of size {(target_h, target_w)} exceeds the network '
                f'size {(height, width)}; check the targets stride')
        padded.append(
            F.pad(
                value, (0, width - target_w, 0, height - target_h),
                value=pad_value))
    return torch.stack(padded)
