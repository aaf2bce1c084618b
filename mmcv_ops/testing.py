# Copyright (c) OpenMMLab. All rights reserved.
"""Random AMWC instances and an independent feasibility / objective check.

Shared by the unit tests and ``tools/analysis_tools/fuzz_amwc.py``: the check
recomputes everything from the returned arrays with numpy, so it does not
trust anything the solver reports.
"""
from typing import Dict, Optional

import numpy as np
from torch import Tensor


def random_amwc_instance(rng: np.random.Generator,
                         max_nodes: int = 300,
                         max_labels: int = 20) -> Dict[str, np.ndarray]:
    """A random instance: 1..max_nodes nodes, 1..max_labels labels, a random
    edge density with duplicate and reversed edges, negative, zero and
    positive costs, a random thing mask, float32 or float64 costs and int32
    or int64 edges."""
    num_nodes = int(rng.integers(1, max_nodes + 1))
    num_labels = int(rng.integers(1, max_labels + 1))
    dtype = np.float32 if rng.random() < 0.5 else np.float64
    node_costs = rng.normal(size=(num_nodes, num_labels))
    if rng.random() < 0.2:
        node_costs = np.round(node_costs)  # many ties
    num_edges = 0
    if num_nodes > 1:
        num_edges = int(rng.integers(0, 4 * num_nodes * rng.random() + 2))
    src = rng.integers(0, num_nodes, num_edges)
    dst = (src + rng.integers(1, max(num_nodes, 2), num_edges)) % num_nodes
    edges = np.stack([src, dst], axis=1)
    if num_edges and rng.random() < 0.3:  # duplicates, some reversed
        extra = edges[rng.integers(0, num_edges, num_edges // 3 + 1)]
        flip = rng.random(len(extra)) < 0.5
        extra[flip] = extra[flip][:, ::-1]
        edges = np.concatenate([edges, extra])
    edge_costs = rng.normal(loc=rng.normal(), size=len(edges))
    edge_costs[rng.random(len(edges)) < 0.1] = 0.0
    return dict(
        node_costs=node_costs.astype(dtype),
        edges=edges.astype(np.int32 if rng.random() < 0.5 else np.int64),
        edge_costs=edge_costs.astype(dtype),
        partitionable=rng.random(num_labels) < rng.random())


def check_amwc_solution(instance: Dict[str, np.ndarray],
                        labels: Tensor,
                        cut: Tensor,
                        objective: float,
                        clusters: Optional[Tensor] = None) -> None:
    """Asserts that a solution is feasible and its objective is exact.

    ``instance`` holds node_costs, edges, edge_costs and (AMWC only)
    partitionable; ``clusters=None`` checks an MWC solution, where an edge is
    cut iff its labels differ.
    """
    node_costs = np.asarray(instance['node_costs'], dtype=np.float64)
    edges = np.asarray(instance['edges'], dtype=np.int64).reshape(-1, 2)
    edge_costs = np.asarray(instance['edge_costs'], dtype=np.float64)
    num_nodes, num_labels = node_costs.shape
    labels = labels.numpy()
    cut = cut.numpy()
    assert labels.dtype == np.int64 and labels.shape == (num_nodes, )
    assert cut.dtype == np.bool_ and cut.shape == (len(edges), )
    assert ((labels >= 0) & (labels < num_labels)).all()
    i, j = edges[:, 0], edges[:, 1]
    expected_cut = labels[i] != labels[j]
    if clusters is not None:
        clusters = clusters.numpy()
        thing = np.asarray(instance['partitionable'], dtype=bool)
        assert clusters.dtype == np.int64 and clusters.shape == (num_nodes, )
        # ids are 0..K-1 in order of first appearance
        _, first = np.unique(clusters, return_index=True)
        assert (clusters[np.sort(first)] == np.arange(len(first))).all()
        # one label per cluster; one cluster per stuff label
        assert len(np.unique(np.stack([clusters, labels]),
                             axis=1)[0]) == len(first)
        stuff_nodes = ~thing[labels]
        stuff_pairs = np.unique(
            np.stack([clusters[stuff_nodes], labels[stuff_nodes]]), axis=1)
        assert len(np.unique(stuff_pairs[1])) == stuff_pairs.shape[1]
        expected_cut |= clusters[i] != clusters[j]
    assert (cut == expected_cut).all()
    expected = node_costs[np.arange(num_nodes),
                          labels].sum() + edge_costs[expected_cut].sum()
    assert abs(objective -
               expected) <= 1e-9 * max(1.0, abs(expected)), (objective,
                                                             expected)
