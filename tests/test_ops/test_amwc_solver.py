# Copyright (c) OpenMMLab. All rights reserved.
import itertools
import os

import numpy as np
import pytest
import torch

from mmcv_ops import (AMWCResult, MWCResult, grid_graph, solve_amwc,
                      solve_amwc_batch, solve_mwc, solve_mwc_batch)
from mmcv_ops.testing import check_amwc_solution, random_amwc_instance


def set_partitions(items):
    """All partitions of a list into non-empty blocks."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in set_partitions(rest):
        yield [[first]] + partition
        for k in range(len(partition)):
            yield partition[:k] + [[first] + partition[k]] + partition[k + 1:]


def brute_force_objective(instance):
    """Exact AMWC optimum by enumerating partitions and block labels."""
    node_costs = instance['node_costs'].astype(np.float64)
    edges = instance['edges'].astype(np.int64)
    edge_costs = instance['edge_costs'].astype(np.float64)
    thing = instance['partitionable']
    num_nodes, num_labels = node_costs.shape
    best = np.inf
    for partition in set_partitions(list(range(num_nodes))):
        for block_labels in itertools.product(
                range(num_labels), repeat=len(partition)):
            labels = np.empty(num_nodes, np.int64)
            segment = np.empty(num_nodes, np.int64)
            for k, (block, label) in enumerate(zip(partition, block_labels)):
                labels[block] = label
                segment[block] = num_nodes + k if thing[label] else label
            cut = segment[edges[:, 0]] != segment[edges[:, 1]]
            value = node_costs[np.arange(num_nodes), labels].sum() + \
                edge_costs[cut].sum()
            best = min(best, value)
    return best


def test_hand_made_instance():
    # 0-1-2-3 path; 0,1 prefer thing label 0, 2,3 stuff label 1; the repulsive
    # edge 1-2 separates them. Node 4 (stuff 1) is isolated.
    node_costs = torch.tensor([[-2., 0.], [-2., 0.], [0., -2.], [0., -2.],
                               [0., -1.]])
    edges = torch.tensor([[0, 1], [1, 2], [2, 3]])
    edge_costs = torch.tensor([1., -1., 1.])
    result = solve_amwc(node_costs, edges, edge_costs,
                        torch.tensor([True, False]))
    assert isinstance(result, AMWCResult)
    assert result.labels.tolist() == [0, 0, 1, 1, 1]
    assert result.clusters.tolist() == [0, 0, 1, 1, 1]  # stuff: one cluster
    assert result.cut.tolist() == [False, True, False]
    assert result.objective == pytest.approx(-9.0 - 1.0)


def test_thing_instances_are_separate():
    # Two thing components joined by a repulsive edge: two instances.
    node_costs = np.array([[-1., 0.]] * 4)
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    edge_costs = np.array([2., -0.5, 2.])
    result = solve_amwc(node_costs, edges, edge_costs, np.array([True, False]))
    assert result.labels.tolist() == [0, 0, 0, 0]
    assert result.clusters.tolist() == [0, 0, 1, 1]
    assert result.cut.tolist() == [False, True, False]
    assert result.objective == pytest.approx(-4.5)
    # The same label as stuff: one segment, the repulsive edge is not cut.
    result = solve_amwc(node_costs, edges, edge_costs, np.array([False, True]))
    assert result.clusters.tolist() == [0, 0, 0, 0]
    assert result.cut.tolist() == [False, False, False]
    assert result.objective == pytest.approx(-4.0)


def test_stuff_rule_joins_distant_nodes():
    # Nodes 0 and 3 take stuff label 1, far apart; they share one cluster.
    node_costs = np.array([[0., -3.], [-3., 0.], [-3., 0.], [0., -3.]])
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    result = solve_amwc(node_costs, edges, np.array([-1., 0.5, -1.]),
                        np.array([True, False]))
    assert result.labels.tolist() == [1, 0, 0, 1]
    assert result.clusters[0] == result.clusters[3] != result.clusters[1]
    check_amwc_solution(
        dict(
            node_costs=node_costs,
            edges=np.array([[0, 1], [1, 2], [2, 3]]),
            edge_costs=np.array([-1., 0.5, -1.]),
            partitionable=np.array([True, False])), result.labels, result.cut,
        result.objective, result.clusters)


def test_degenerate_sizes():
    result = solve_amwc(
        np.zeros((1, 1)), np.zeros((0, 2), np.int64), np.zeros(0),
        np.array([True]))
    assert result.labels.tolist() == [0] and result.clusters.tolist() == [0]
    assert result.cut.shape == (0, ) and result.objective == 0.0
    # All-equal costs: a valid solution with objective 0 + cut costs.
    node_costs = np.full((6, 3), 0.5)
    edges = np.array([[0, 1], [1, 2], [3, 4], [4, 5], [0, 5]])
    result = solve_mwc(node_costs, edges, np.ones(5))
    assert isinstance(result, MWCResult)
    assert not result.cut.any() and result.objective == pytest.approx(3.0)


@pytest.mark.parametrize('seed', range(5))
def test_random_instances_feasible(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        instance = random_amwc_instance(rng)
        result = solve_amwc(**instance)
        check_amwc_solution(instance, result.labels, result.cut,
                            result.objective, result.clusters)
        args = {k: v for k, v in instance.items() if k != 'partitionable'}
        result = solve_mwc(**args)
        check_amwc_solution(instance, result.labels, result.cut,
                            result.objective)


def test_never_below_brute_force_optimum():
    rng = np.random.default_rng(7)
    for _ in range(25):
        instance = random_amwc_instance(rng, max_nodes=4, max_labels=3)
        result = solve_amwc(**instance)
        optimum = brute_force_objective(instance)
        assert result.objective >= optimum - 1e-9


@pytest.mark.parametrize('seed', range(4))
def test_optimal_where_greedy_is_exact(seed):
    rng = np.random.default_rng(100 + seed)
    num_nodes, num_labels = 5, 3
    edges = np.array(list(itertools.combinations(range(num_nodes), 2)))
    partitionable = rng.random(num_labels) < 0.5
    # Attractive edges and one label cheapest for every node: one cluster
    # with that label, nothing cut.
    node_costs = rng.random((num_nodes, num_labels))
    dominant = int(rng.integers(num_labels))
    node_costs[:, dominant] -= 2.0
    instance = dict(
        node_costs=node_costs,
        edges=edges,
        edge_costs=rng.random(len(edges)) + 0.01,
        partitionable=partitionable)
    result = solve_amwc(**instance)
    assert result.objective == pytest.approx(brute_force_objective(instance))
    assert (result.labels == dominant).all() and not result.cut.any()
    # No edges: every node takes its cheapest label.
    instance['edges'] = np.zeros((0, 2), np.int64)
    instance['edge_costs'] = np.zeros(0)
    result = solve_amwc(**instance)
    assert result.objective == pytest.approx(node_costs.min(1).sum())


def test_batch_matches_single_and_thread_count():
    rng = np.random.default_rng(3)
    instances = [random_amwc_instance(rng) for _ in range(12)]
    singles = [solve_amwc(**inst) for inst in instances]
    columns = {k: [inst[k] for inst in instances] for k in instances[0]}
    for num_threads in (1, 2, 5):
        batch = solve_amwc_batch(**columns, num_threads=num_threads)
        for single, result in zip(singles, batch):
            for a, b in zip(single, result):
                if isinstance(a, torch.Tensor):
                    assert torch.equal(a, b)
                else:
                    assert a == b
    mwc = solve_mwc_batch(columns['node_costs'], columns['edges'],
                          columns['edge_costs'])
    for inst, result in zip(instances, mwc):
        check_amwc_solution(inst, result.labels, result.cut, result.objective)


def test_batch_shared_edges_and_tensors_in():
    rng = np.random.default_rng(4)
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [0, 3]], dtype=torch.int32)
    node_costs = [torch.from_numpy(rng.normal(size=(4, 3))) for _ in range(3)]
    edge_costs = [torch.randn(4, dtype=torch.float32) for _ in range(3)]
    partitionable = torch.tensor([True, False, True])
    results = solve_amwc_batch(node_costs, edges, edge_costs, partitionable)
    assert len(results) == 3
    for costs, weights, result in zip(node_costs, edge_costs, results):
        check_amwc_solution(
            dict(
                node_costs=costs.numpy(),
                edges=edges.numpy(),
                edge_costs=weights.numpy(),
                partitionable=partitionable.numpy()), result.labels,
            result.cut, result.objective, result.clusters)
    assert solve_amwc_batch([], edges, [], partitionable) == []


@pytest.mark.parametrize('dtype', [torch.int32, torch.int64])
def test_batch_on_one_graph_matches_separate_solves(dtype):
    """Instances given one edges tensor share its conversion, check and node
    adjacency (built once); above the block threshold too."""
    rng = np.random.default_rng(12)
    edges = grid_graph(70, 70, (1, 4, 16)).to(dtype)
    num_nodes = 70 * 70
    node_costs = [rng.normal(size=(num_nodes, 5)) for _ in range(3)]
    edge_costs = [rng.normal(size=len(edges)) for _ in range(3)]
    partitionable = np.array([True, False, True, False, False])
    separate = [
        solve_amwc(costs, edges.clone(), weights, partitionable)
        for costs, weights in zip(node_costs, edge_costs)
    ]
    for num_threads in (1, 2):
        shared = solve_amwc_batch(
            node_costs, edges, edge_costs, partitionable,
            num_threads=num_threads)
        for one, other in zip(separate, shared):
            assert torch.equal(one.labels, other.labels)
            assert torch.equal(one.clusters, other.clusters)
            assert one.objective == other.objective


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_batch_sharing_edge_costs_matches_separate_copies(dtype):
    """Instances given one edge costs tensor (the backward's perturbed
    copies) share its conversion and finiteness check."""
    rng = np.random.default_rng(13)
    edges = grid_graph(40, 40, (1, 4))
    node_costs = [rng.normal(size=(1600, 4)) for _ in range(3)]
    edge_costs = torch.from_numpy(rng.normal(size=len(edges)).astype(dtype))
    copies = solve_mwc_batch(node_costs, edges,
                             [edge_costs.clone() for _ in range(3)])
    shared = solve_mwc_batch(node_costs, edges, [edge_costs] * 3)
    for one, other in zip(copies, shared):
        assert torch.equal(one.labels, other.labels)
        assert one.objective == other.objective
    edge_costs[7] = float('nan')
    with pytest.raises(ValueError, match=r'edge_costs must be finite.*0\)'):
        solve_mwc_batch(node_costs, edges, [edge_costs] * 3)
    with pytest.raises(ValueError, match=r'edge_costs must be finite.*2\)'):
        solve_mwc_batch(node_costs, edges,
                        [edge_costs.nan_to_num()] * 2 + [edge_costs])


def test_deterministic_repeated_solves():
    rng = np.random.default_rng(11)
    instance = random_amwc_instance(rng, max_nodes=300)
    first = solve_amwc(**instance)
    for _ in range(3):
        again = solve_amwc(**instance)
        assert torch.equal(first.labels, again.labels)
        assert torch.equal(first.clusters, again.clusters)
        assert first.objective == again.objective


@pytest.mark.skipif(
    not os.path.exists('/proc/self/statm'), reason='reads /proc (Linux)')
def test_repeated_solves_reuse_memory():
    """Large buffers are kept for the next solve in a bounded cache: solves
    of changing sizes in a loop do not grow the resident memory."""

    def resident_mib():
        with open('/proc/self/statm') as statm:
            return int(statm.read().split()[1]) * os.sysconf(
                'SC_PAGE_SIZE') / 2**20

    rng = np.random.default_rng(13)
    instances = []
    for side in (90, 120, 150):
        edges = grid_graph(side, side, (1, 4, 16))
        instances.append(
            dict(
                node_costs=rng.normal(size=(side * side, 6)),
                edges=edges,
                edge_costs=rng.normal(size=len(edges)),
                partitionable=np.arange(6) < 3))
    for instance in instances:
        solve_amwc(**instance, num_threads=1)
    before = resident_mib()
    for _ in range(10):
        for instance in instances:
            solve_amwc(**instance, num_threads=1)
    assert resident_mib() - before < 20
