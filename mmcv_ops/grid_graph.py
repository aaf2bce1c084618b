# Copyright (c) OpenMMLab. All rights reserved.
"""Pixel-grid graphs for the AMWC solver and per-offset edge maps.

Node index of pixel (y, x) on an H x W grid: ``y * W + x``. For every edge
distance ``d`` (pixel offset) in the given order the edges are: first the
vertical edges (y, x)-(y + d, x) in row-major order over y < H - d, x < W;
then the horizontal edges (y, x)-(y, x + d) in row-major order over y < H,
x < W - d (none when d >= H resp. d >= W).

Edge maps have shape [..., D, 2, H, W] (D = len(edge_distances)); channel 0
holds vertical, channel 1 horizontal edges, and an edge's value sits on its
FIRST pixel (y, x), the top resp. left pixel of the pair. Map positions
without an edge (the last d rows of channel 0, the last d columns of channel
1) are ignored when reading and filled with ``fill`` when writing. Both
conversions are slicing only, so gradients flow through them.
"""
from typing import Sequence

import torch
from torch import Tensor


def _check_size(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be a positive int, got {value!r}')
    return value


def _check_edge_distances(edge_distances: Sequence[int]) -> list:
    edge_distances = list(edge_distances)
    if not edge_distances:
        raise ValueError('edge_distances must contain at least one distance')
    for d in edge_distances:
        _check_size(d, 'every edge distance')
    return edge_distances


def grid_graph(height: int, width: int,
               edge_distances: Sequence[int]) -> Tensor:
    """Edges of the H x W grid graph for the given edge distances.

    Returns:
        Tensor: [E, 2] int64 node pairs (i < j), in the module's edge order.
    """
    height = _check_size(height, 'height')
    width = _check_size(width, 'width')
    index = torch.arange(height * width).reshape(height, width)
    pairs = []
    for d in _check_edge_distances(edge_distances):
        if d < height:
            pairs.append(
                torch.stack([index[:-d].reshape(-1), index[d:].reshape(-1)],
                            dim=1))
        if d < width:
            pairs.append(
                torch.stack(
                    [index[:, :-d].reshape(-1), index[:, d:].reshape(-1)],
                    dim=1))
    if not pairs:
        return torch.zeros((0, 2), dtype=torch.long)
    return torch.cat(pairs)


def grid_maps_to_edge_values(maps: Tensor,
                             edge_distances: Sequence[int]) -> Tensor:
    """Reads the edge values out of per-offset maps.

    Args:
        maps (Tensor): [..., D, 2, H, W], see the module docstring.
        edge_distances (Sequence[int]): The D distances, in the order of the
            maps.

    Returns:
        Tensor: [..., E] values in the edge order of :func:`grid_graph`.
    """
    edge_distances = _check_edge_distances(edge_distances)
    if not isinstance(maps, Tensor):
        raise TypeError(f'maps must be a torch.Tensor, got '
                        f'{type(maps).__name__}')
    num_distances = len(edge_distances)
    if maps.dim() < 4 or tuple(maps.shape[-4:-2]) != (num_distances, 2):
        raise ValueError(f'maps must have shape [..., D={num_distances}, 2, '
                         f'H, W], got {tuple(maps.shape)}')
    height, width = maps.shape[-2:]
    batch = maps.shape[:-4]
    values = []
    for k, d in enumerate(edge_distances):
        if d < height:
            values.append(maps[..., k, 0, :height - d, :].reshape(*batch, -1))
        if d < width:
            values.append(maps[..., k, 1, :, :width - d].reshape(*batch, -1))
    if not values:
        return maps.new_zeros((*batch, 0))
    return torch.cat(values, dim=-1)


def edge_values_to_grid_maps(values: Tensor,
                             height: int,
                             width: int,
                             edge_distances: Sequence[int],
                             fill: float = 0) -> Tensor:
    """Writes edge values into per-offset maps (inverse of
    :func:`grid_maps_to_edge_values`).

    Args:
        values (Tensor): [..., E] in the edge order of :func:`grid_graph`.
        height (int): Grid height H.
        width (int): Grid width W.
        edge_distances (Sequence[int]): The D distances.
        fill (float): Value of the map positions without an edge.

    Returns:
        Tensor: [..., D, 2, H, W] with the dtype and device of ``values``.
    """
    height = _check_size(height, 'height')
    width = _check_size(width, 'width')
    edge_distances = _check_edge_distances(edge_distances)
    if not isinstance(values, Tensor):
        raise TypeError(f'values must be a torch.Tensor, got '
                        f'{type(values).__name__}')
    counts = [(max(height - d, 0) * width, height * max(width - d, 0))
              for d in edge_distances]
    num_edges = sum(v + h for v, h in counts)
    if values.dim() < 1 or values.shape[-1] != num_edges:
        raise ValueError(f'values must have shape [..., E={num_edges}] for a '
                         f'{height}x{width} grid with edge_distances '
                         f'{edge_distances}, got {tuple(values.shape)}')
    batch = values.shape[:-1]
    maps = values.new_full((*batch, len(edge_distances), 2, height, width),
                           fill)
    start = 0
    for k, d in enumerate(edge_distances):
        vertical, horizontal = counts[k]
        if vertical:
            maps[..., k,
                 0, :height - d, :] = values[...,
                                             start:start + vertical].reshape(
                                                 *batch, height - d, width)
            start += vertical
        if horizontal:
            maps[..., k,
                 1, :, :width - d] = values[...,
                                            start:start + horizontal].reshape(
                                                *batch, height, width - d)
            start += horizontal
    return maps
