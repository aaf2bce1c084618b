# Copyright (c) OpenMMLab. All rights reserved.
"""Asymmetric multiway cut (AMWC) and multiway cut (MWC) solvers.

Thin wrappers around the compiled greedy solver ``mmcv_ops._ext``: they
check and convert the inputs (numpy arrays or torch tensors), run the solver
in C++ with the GIL released (several instances on a thread pool for the
batch variants) and return CPU torch tensors.

Problem (per instance): ``N`` nodes, ``L`` labels, ``E`` edges.
An edge is cut when its two nodes get different labels, or the same
partitionable ("thing") label but different clusters; all nodes of one
non-partitionable ("stuff") label form one cluster. The objective
``sum_i node_costs[i, labels[i]] + sum_e cut[e] * edge_costs[e]`` is
minimised greedily; ``edge_costs > 0`` favours joining the two nodes.
"""
import os
from typing import List, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from . import _ext

ArrayLike = Union[Tensor, np.ndarray]


class AmwcResult(NamedTuple):
    """AMWC solution.

    Attributes:
        labels (Tensor): [N] int64, label of every node.
        clusters (Tensor): [N] int64, cluster id of every node, numbered
            0..K-1 in order of first appearance; one id per stuff label.
        cut (Tensor): [E] bool, whether each input edge is cut.
        objective (float): Objective of the solution, in float64.
    """
    labels: Tensor
    clusters: Tensor
    cut: Tensor
    objective: float


class MwcResult(NamedTuple):
    """MWC solution: ``labels`` [N] int64, ``cut`` [E] bool (labels differ)
    and the float64 ``objective``."""
    labels: Tensor
    cut: Tensor
    objective: float


def _as_tensor(value: ArrayLike, name: str) -> Tensor:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f'{name} must be a numeric array, got dtype '
                            'object')
        return torch.from_numpy(value)
    if isinstance(value, Tensor):
        return value.detach().cpu()
    raise TypeError(f'{name} must be a torch.Tensor or numpy.ndarray, got '
                    f'{type(value).__name__}')


def _check_costs(costs: Tensor, name: str, ndim: int) -> Tensor:
    if costs.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f'{name} must be float32 or float64, got {costs.dtype}')
    if costs.dim() != ndim:
        raise ValueError(f'{name} must have {ndim} dimensions, got shape '
                         f'{tuple(costs.shape)}')
    return costs.contiguous()


def _prepare_instance(node_costs: ArrayLike, edges: ArrayLike,
                      edge_costs: ArrayLike,
                      partitionable: Optional[ArrayLike],
                      where: str) -> List[Tensor]:
    """Checks types and shapes of one instance and returns the C++ inputs
    (contiguous CPU tensors); ``partitionable=None`` means all labels are
    stuff. The values (finite costs, edge indices in [0, N), no
    self-loops) are checked in one pass by the C++ op, which raises a
    ValueError naming the argument, edge and instance."""
    node_costs = _check_costs(
        _as_tensor(node_costs, 'node_costs' + where), 'node_costs' + where, 2)
    num_nodes, num_labels = node_costs.shape
    if num_labels == 0:
        raise ValueError(f'node_costs{where} must have at least one label '
                         '(shape [N, L] with L >= 1), got shape '
                         f'{tuple(node_costs.shape)}')
    edges = _as_tensor(edges, 'edges' + where)
    if edges.dtype not in (torch.int32, torch.int64):
        raise TypeError(f'edges{where} must be int32 or int64, got '
                        f'{edges.dtype}')
    if edges.dim() != 2 or edges.shape[1] != 2:
        raise ValueError(f'edges{where} must have shape [E, 2], got '
                         f'{tuple(edges.shape)}')
    edges = edges.contiguous()
    edge_costs = _check_costs(
        _as_tensor(edge_costs, 'edge_costs' + where), 'edge_costs' + where, 1)
    if edge_costs.shape[0] != edges.shape[0]:
        raise ValueError(f'edge_costs{where} must have one cost per edge '
                         f'({edges.shape[0]}), got {edge_costs.shape[0]}')
    if partitionable is None:
        partitionable = torch.zeros(num_labels, dtype=torch.bool)
    else:
        partitionable = _as_tensor(partitionable, 'partitionable' + where)
        if partitionable.dtype != torch.bool:
            raise TypeError(f'partitionable{where} must be a bool array, got '
                            f'{partitionable.dtype}')
        if tuple(partitionable.shape) != (num_labels, ):
            raise ValueError(f'partitionable{where} must have shape [L] = '
                             f'[{num_labels}], got '
                             f'{tuple(partitionable.shape)}')
    return [node_costs, edges, edge_costs, partitionable.contiguous()]


def _per_instance(value, count: int, name: str) -> list:
    """``value`` as a list of ``count`` items: a list/tuple of that length, or
    one array shared by all instances."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f'{name} must be one array or a list of '
                             f'{count} arrays (one per instance), got a list '
                             f'of {len(value)}')
        return list(value)
    return [value] * count


def _resolve_threads(num_threads: Optional[int]) -> int:
    if num_threads is None:
        return len(os.sched_getaffinity(0))
    if isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise TypeError('num_threads must be an int or None, got '
                        f'{type(num_threads).__name__}')
    if num_threads < 1:
        raise ValueError(f'num_threads must be >= 1, got {num_threads}')
    return num_threads


def _solve(node_costs: Sequence, edges, edge_costs: Sequence, partitionable,
           num_threads: Optional[int]) -> list:
    if not isinstance(node_costs, (list, tuple)):
        raise TypeError('node_costs must be a list of [N, L] arrays, got '
                        f'{type(node_costs).__name__}')
    if not isinstance(edge_costs, (list, tuple)):
        raise TypeError('edge_costs must be a list of [E] arrays, got '
                        f'{type(edge_costs).__name__}')
    count = len(node_costs)
    if len(edge_costs) != count:
        raise ValueError(f'edge_costs must have one array per instance '
                         f'({count}), got {len(edge_costs)}')
    num_threads = _resolve_threads(num_threads)
    edges = _per_instance(edges, count, 'edges')
    partitionable = _per_instance(partitionable, count, 'partitionable')
    inputs = [
        _prepare_instance(*instance, where=f'[{k}]' if count > 1 else '')
        for k, instance in enumerate(
            zip(node_costs, edges, edge_costs, partitionable))
    ]
    return _ext.solve_amwc_batch(*(list(column) for column in zip(
        *inputs)), num_threads) if inputs else []


def solve_amwc_batch(node_costs: Sequence[ArrayLike],
                     edges: Union[ArrayLike, Sequence[ArrayLike]],
                     edge_costs: Sequence[ArrayLike],
                     partitionable: Union[ArrayLike, Sequence[ArrayLike]],
                     num_threads: Optional[int] = None) -> List[AmwcResult]:
    """Solves several AMWC instances on a C++ thread pool (GIL released).

    Args:
        node_costs (list[Tensor | ndarray]): [N_k, L_k] float32/float64.
        edges (Tensor | ndarray | list): [E_k, 2] int32/int64 node pairs, one
            array shared by all instances or one per instance.
        edge_costs (list[Tensor | ndarray]): [E_k] float32/float64.
        partitionable (Tensor | ndarray | list): [L_k] bool, True for thing
            labels; shared or one per instance.
        num_threads (int, optional): Worker threads; defaults to the cores
            available to this process. Instances are solved side by side;
            threads beyond one per instance go to the block phase inside
            the large ones, so at most ``num_threads`` run at once. The
            results do not depend on it.

    Returns:
        list[AmwcResult]: One result per instance, in input order.
    """
    if partitionable is None:
        raise TypeError('partitionable must be a bool array of shape [L] (or '
                        'a list of them), got None; use solve_mwc_batch for '
                        'the problem without thing labels')
    return [
        AmwcResult(*result) for result in _solve(node_costs, edges, edge_costs,
                                                 partitionable, num_threads)
    ]


def solve_mwc_batch(node_costs: Sequence[ArrayLike],
                    edges: Union[ArrayLike, Sequence[ArrayLike]],
                    edge_costs: Sequence[ArrayLike],
                    num_threads: Optional[int] = None) -> List[MwcResult]:
    """Solves several MWC instances (every label is stuff) on a C++ thread
    pool; arguments as in :func:`solve_amwc_batch`."""
    results = _solve(node_costs, edges, edge_costs, None, num_threads)
    return [
        MwcResult(labels, cut, objective)
        for labels, _, cut, objective in results
    ]


def solve_amwc(node_costs: ArrayLike,
               edges: ArrayLike,
               edge_costs: ArrayLike,
               partitionable: ArrayLike,
               num_threads: Optional[int] = None) -> AmwcResult:
    """Solves one AMWC instance: node_costs [N, L] float, edges [E, 2] int,
    edge_costs [E] float, partitionable [L] bool (True = thing label).

    Large instances (N >= 4096) grow their first clusters in blocks of
    consecutive node indices on ``num_threads`` threads (default: the cores
    available); the result does not depend on ``num_threads``."""
    return solve_amwc_batch([node_costs],
                            edges, [edge_costs],
                            partitionable,
                            num_threads=num_threads)[0]


def solve_mwc(node_costs: ArrayLike,
              edges: ArrayLike,
              edge_costs: ArrayLike,
              num_threads: Optional[int] = None) -> MwcResult:
    """Solves one MWC instance: an edge is cut iff its labels differ;
    ``num_threads`` as in :func:`solve_amwc`."""
    return solve_mwc_batch([node_costs],
                           edges, [edge_costs],
                           num_threads=num_threads)[0]
