"""One path from cost maps on the output grid to AMWC solutions.

Inference (:meth:`COPS.solve`) and the AMWC layer (:class:`AMWCFunction`)
both turn per-point maps ``[B, C, h, w]`` and per-pair maps
``[B, D, 2, h, w]`` (``mmcv_ops`` grid convention, offsets
``edge_distances``) into one grid graph per image and solve the batch with
one threaded ``mmcv_ops.solve_amwc_batch`` call. Padding is handled one way:
an image's graph covers its valid grid ``(h_i, w_i)``, the top-left corner
of the batch grid, and the points outside it are not in the graph (``None``:
the whole grid of every image). Node index of point (y, x): ``y * w_i + x``.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

from torch import Tensor

from mmcv_ops import (AMWCResult, grid_graph, grid_maps_to_edge_values,
                      solve_amwc_batch)


class GridProblems(NamedTuple):
    """Per image, the graph of its valid grid and the values on it.

    Attributes:
        node_values (list[Tensor]): ``[h_i * w_i, C]``.
        edges (list[Tensor]): ``[E_i, 2]`` int64 on the CPU
            (``mmcv_ops.grid_graph``; one tensor per distinct grid shape).
        edge_values (list[Tensor]): ``[E_i]``, in the order of ``edges``.
    """
    node_values: List[Tensor]
    edges: List[Tensor]
    edge_values: List[Tensor]


def grid_problems(
        node_maps: Tensor,
        edge_maps: Tensor,
        edge_distances: Sequence[int],
        grid_shapes: Optional[Sequence[Tuple[int, int]]] = None
) -> GridProblems:
    """Crop each image's valid grid and flatten it into a graph.

    Differentiable in ``node_maps`` and ``edge_maps`` (slicing only).

    Args:
        node_maps (Tensor): ``[B, C, h, w]`` per-point values.
        edge_maps (Tensor): ``[B, D, 2, h, w]`` per-pair values.
        edge_distances (Sequence[int]): The D offsets of ``edge_maps``.
        grid_shapes (Sequence[tuple], optional): Valid ``(h_i, w_i)`` per
            image; None: ``(h, w)`` for every image.

    Returns:
        GridProblems: the graphs and their values, on the maps' device
        (edges on the CPU).
    """
    if grid_shapes is None:
        grid_shapes = [tuple(node_maps.shape[-2:])] * len(node_maps)
    graphs = {}
    problems = GridProblems([], [], [])
    for node_map, edge_map, (height, width) in zip(node_maps, edge_maps,
                                                   grid_shapes):
        if (height, width) not in graphs:
            graphs[height, width] = grid_graph(height, width, edge_distances)
        problems.node_values.append(
            node_map[:, :height, :width].flatten(1).t())
        problems.edges.append(graphs[height, width])
        problems.edge_values.append(
            grid_maps_to_edge_values(edge_map[..., :height, :width],
                                     edge_distances))
    return problems


def solve_grid_amwc(
    node_costs: Tensor,
    edge_costs: Tensor,
    edge_distances: Sequence[int],
    partitionable: Tensor,
    grid_shapes: Optional[Sequence[Tuple[int, int]]] = None,
    num_threads: Optional[int] = None
) -> Tuple[GridProblems, List[AMWCResult]]:
    """The AMWC of every image's valid grid, in one batched solver call.

    Args:
        node_costs (Tensor): ``[B, C, h, w]`` float32/float64 class costs.
        edge_costs (Tensor): ``[B, D, 2, h, w]`` cut costs (> 0 prefers
            joining).
        edge_distances (Sequence[int]): The D offsets.
        partitionable (Tensor): ``[C]`` bool, True for thing classes.
        grid_shapes (Sequence[tuple], optional): Valid ``(h_i, w_i)`` per
            image; None: the whole grid.
        num_threads (int, optional): Solver threads; None: solver default.

    Returns:
        tuple: the :class:`GridProblems` solved and one
        ``mmcv_ops.AMWCResult`` per image (``labels`` / ``clusters``
        ``[h_i * w_i]``, ``cut`` ``[E_i]``) on the device of the costs; the
        costs cross to the host in one copy per batch.
    """
    problems = grid_problems(node_costs, edge_costs, edge_distances,
                             grid_shapes)
    return problems, solve_amwc_batch(
        problems.node_values,
        problems.edges,
        problems.edge_values,
        partitionable,
        num_threads=num_threads)
