# Copyright (c) OpenMMLab. All rights reserved.
"""Asymmetric multiway cut (AMWC) and multiway cut (MWC) solvers.

Thin wrappers around the compiled greedy solver ``mmcv_ops._ext``: they
check and convert the inputs (numpy arrays or torch tensors), run the solver
in C++ with the GIL released (several instances on a thread pool for the
batch variants) and return torch tensors on the device of the node costs
(CPU for numpy). The solver itself runs on CPU threads: tensors on a GPU are
copied to the host once per call (pinned memory, one wait) and the solutions
copied back (``mmcv_ops.device``).

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
from .device import on_input_device

ArrayLike = Union[Tensor, np.ndarray]


class AMWCResult(NamedTuple):
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


class MWCResult(NamedTuple):
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


def _prepare_instance(node_costs: ArrayLike, edges: ArrayLike,
                      edge_costs: ArrayLike,
                      partitionable: Optional[ArrayLike],
                      initial_labels: Optional[ArrayLike],
                      initial_clusters: Optional[ArrayLike],
                      where: str) -> list:
    """The C++ inputs of one instance as contiguous CPU tensors (``None``
    stays ``None``; ``partitionable=None`` means all labels are stuff). The
    op checks dtypes, shapes and values itself and raises errors naming the
    argument and instance, so nothing is checked twice here."""
    node_costs = _as_tensor(node_costs, 'node_costs' + where).contiguous()
    if partitionable is None:
        num_labels = node_costs.shape[-1] if node_costs.dim() else 0
        partitionable = torch.zeros(num_labels, dtype=torch.bool)
    tensors = [
        _as_tensor(value, name + where).contiguous()
        for value, name in ((edges, 'edges'), (edge_costs, 'edge_costs'),
                            (partitionable, 'partitionable'))
    ]
    initial = [
        None if value is None else _as_tensor(value, name +
                                              where).contiguous()
        for value, name in ((initial_labels, 'initial_labels'),
                            (initial_clusters, 'initial_clusters'))
    ]
    return [node_costs, *tensors, *initial]


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
           initial_labels, initial_clusters,
           num_threads: Optional[int]) -> list:
    for value, name, shape in ((node_costs, 'node_costs', '[N, L]'),
                               (edge_costs, 'edge_costs', '[E]')):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f'{name} must be a list of {shape} arrays, got '
                            f'{type(value).__name__}')
    count = len(node_costs)
    if len(edge_costs) != count:  # zip below would drop the extra ones
        raise ValueError(f'edge_costs must have one array per instance '
                         f'({count}), got {len(edge_costs)}')
    num_threads = _resolve_threads(num_threads)
    columns = [
        _per_instance(value, count, name)
        for value, name in ((edges, 'edges'), (partitionable, 'partitionable'),
                            (initial_labels, 'initial_labels'),
                            (initial_clusters, 'initial_clusters'))
    ]
    inputs = [
        _prepare_instance(costs, instance_edges, weights, part, labels,
                          clusters, f'[{k}]' if count > 1 else '')
        for k, (costs, weights, instance_edges, part, labels,
                clusters) in enumerate(zip(node_costs, edge_costs, *columns))
    ]
    return _ext.solve_amwc_batch(*(list(column) for column in zip(
        *inputs)), num_threads) if inputs else []


@on_input_device
def solve_amwc_batch(
        node_costs: Sequence[ArrayLike],
        edges: Union[ArrayLike, Sequence[ArrayLike]],
        edge_costs: Sequence[ArrayLike],
        partitionable: Union[ArrayLike, Sequence[ArrayLike]],
        num_threads: Optional[int] = None,
        initial_labels: Union[None, ArrayLike, Sequence] = None,
        initial_clusters: Union[None, ArrayLike, Sequence] = None
) -> List[AMWCResult]:
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
        initial_labels (Tensor | ndarray | list, optional): A solution to
            start from (warm start): [N_k] int32/int64 labels, shared or one
            per instance (None entries: cold start), e.g. the ``labels`` of
            a solution of the same graph with other costs. The contraction
            then starts from its clusters instead of single nodes, which
            costs a fraction of a cold solve. Mark the nodes whose costs
            moved with -1: they start alone, so that a perturbed region can
            leave its old cluster (a cluster is never split otherwise). The
            result is never worse than a complete initial solution.
        initial_clusters (Tensor | ndarray | list, optional): The clusters of
            that solution: [N_k] int32/int64 ids in [0, N_k), one label per
            cluster (the ``clusters`` of an :class:`AMWCResult`; ignored at
            nodes marked -1); shared or one per instance; None: one cluster
            per label.

    Returns:
        list[AMWCResult]: One result per instance, in input order.
    """
    if partitionable is None:
        raise TypeError('partitionable must be a bool array of shape [L] (or '
                        'a list of them), got None; use solve_mwc_batch for '
                        'the problem without thing labels')
    return [
        AMWCResult(*result)
        for result in _solve(node_costs, edges, edge_costs, partitionable,
                             initial_labels, initial_clusters, num_threads)
    ]


@on_input_device
def solve_mwc_batch(
        node_costs: Sequence[ArrayLike],
        edges: Union[ArrayLike, Sequence[ArrayLike]],
        edge_costs: Sequence[ArrayLike],
        num_threads: Optional[int] = None,
        initial_labels: Union[None, ArrayLike, Sequence] = None
) -> List[MWCResult]:
    """Solves several MWC instances (every label is stuff) on a C++ thread
    pool; arguments as in :func:`solve_amwc_batch` (``initial_labels``: a
    warm start, e.g. the labels of the unperturbed problem's solution)."""
    results = _solve(node_costs, edges, edge_costs, None, initial_labels,
                     None, num_threads)
    return [
        MWCResult(labels, cut, objective)
        for labels, _, cut, objective in results
    ]


def solve_amwc(node_costs: ArrayLike,
               edges: ArrayLike,
               edge_costs: ArrayLike,
               partitionable: ArrayLike,
               num_threads: Optional[int] = None,
               initial_labels: Optional[ArrayLike] = None,
               initial_clusters: Optional[ArrayLike] = None) -> AMWCResult:
    """Solves one AMWC instance: node_costs [N, L] float, edges [E, 2] int,
    edge_costs [E] float, partitionable [L] bool (True = thing label).

    Instances from 1024 nodes on grow their first clusters in blocks of
    consecutive node indices, on ``num_threads`` threads (default: the cores
    available); the result does not depend on ``num_threads``. A solution to
    start from (``initial_labels`` [N], ``initial_clusters`` [N]): see
    :func:`solve_amwc_batch`."""
    return solve_amwc_batch([node_costs],
                            edges, [edge_costs],
                            partitionable,
                            num_threads=num_threads,
                            initial_labels=initial_labels,
                            initial_clusters=initial_clusters)[0]


def solve_mwc(node_costs: ArrayLike,
              edges: ArrayLike,
              edge_costs: ArrayLike,
              num_threads: Optional[int] = None,
              initial_labels: Optional[ArrayLike] = None) -> MWCResult:
    """Solves one MWC instance: an edge is cut iff its labels differ;
    ``num_threads`` and ``initial_labels`` (a warm start) as in
    :func:`solve_amwc_batch`."""
    return solve_mwc_batch([node_costs],
                           edges, [edge_costs],
                           num_threads=num_threads,
                           initial_labels=initial_labels)[0]
