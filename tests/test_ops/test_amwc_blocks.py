# Copyright (c) OpenMMLab. All rights reserved.
"""The block phase of the solver: instances with N >= 1024 nodes grow their
first clusters in blocks of 2048 consecutive node indices on several threads
(one block below 4096 nodes, fewer nodes per block above 64 labels;
csrc/common/block_growth.cpp)."""
import numpy as np
import pytest
import torch

from mmcv_ops import (grid_graph, solve_amwc, solve_amwc_batch, solve_mwc,
                      solve_mwc_batch)
from mmcv_ops.testing import check_amwc_solution, random_amwc_instance

THREAD_COUNTS = (1, 2, 3)


def planted_grid_instance(rng, height=96, width=128):
    """A grid with four rectangular segments (labels 0, 1, 0 and 2; label 0
    is a thing, so its two rectangles are two instances) and noisy costs
    that favour them; returns the instance and the planted segment ids."""
    edge_distances = (1, 4, 16)
    edges = grid_graph(height, width, edge_distances).numpy()
    ys, xs = np.divmod(np.arange(height * width), width)
    segment = 2 * (ys >= height // 2) + (xs >= width // 3)
    labels = np.array([0, 1, 0, 2])[segment]
    node_costs = rng.normal(scale=0.8, size=(height * width, 4))
    node_costs[np.arange(height * width), labels] -= 1.0
    same = segment[edges[:, 0]] == segment[edges[:, 1]]
    edge_costs = np.where(same, 0.3, -0.3) + rng.normal(
        scale=0.2, size=len(edges))
    instance = dict(
        node_costs=node_costs,
        edges=edges,
        edge_costs=edge_costs,
        partitionable=np.array([True, False, False, True]))
    return instance, labels, segment


def planted_objective(instance, labels, segment):
    edges = instance['edges']
    cut = segment[edges[:, 0]] != segment[edges[:, 1]]
    return (instance['node_costs'][np.arange(len(labels)), labels].sum() +
            instance['edge_costs'][cut].sum())


def assert_same_results(first, second):
    for a, b in zip(first, second):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b)
        else:
            assert a == b


def solve_on_every_thread_count(instance, **options):
    """The AMWC solution of ``instance``: feasible, its objective exact, the
    same for every thread count."""
    results = [
        solve_amwc(**instance, **options, num_threads=threads)
        for threads in THREAD_COUNTS
    ]
    check_amwc_solution(instance, results[0].labels, results[0].cut,
                        results[0].objective, results[0].clusters)
    for result in results[1:]:
        assert_same_results(results[0], result)
    return results[0]


def test_grid_above_block_threshold():
    instance, labels, segment = planted_grid_instance(
        np.random.default_rng(0))
    result = solve_on_every_thread_count(instance)
    # Bands of 2048 nodes cut the planted segments; the contraction on the
    # whole graph must still join each into one cluster (up to a few noisy
    # nodes).
    assert result.objective <= planted_objective(instance, labels, segment)
    clusters = result.clusters.numpy()
    for k in range(4):
        members = clusters[segment == k]
        assert np.bincount(members).max() >= 0.99 * len(members)

    mwc_args = {k: v for k, v in instance.items() if k != 'partitionable'}
    mwc = [
        solve_mwc(**mwc_args, num_threads=threads)
        for threads in THREAD_COUNTS
    ]
    check_amwc_solution(instance, mwc[0].labels, mwc[0].cut, mwc[0].objective)
    for result in mwc[1:]:
        assert_same_results(mwc[0], result)


def test_one_block_below_4096_nodes():
    """From 1024 to 4095 nodes the whole graph is one block: its joins and
    contraction run first, then the contraction on the whole graph."""
    instance, labels, segment = planted_grid_instance(
        np.random.default_rng(8), height=24, width=64)
    result = solve_on_every_thread_count(instance)
    assert result.objective <= planted_objective(instance, labels, segment)
    clusters = result.clusters.numpy()
    majority = [np.bincount(clusters[segment == k]).argmax() for k in range(4)]
    assert len(set(majority)) == 4


def test_random_graphs_above_block_threshold():
    """Random edges between any node indices (most of them cross blocks),
    duplicates, ties and float32 costs."""
    rng = np.random.default_rng(5)
    instances = []
    while len(instances) < 6:
        instance = random_amwc_instance(rng, max_nodes=12000)
        if len(instance['node_costs']) >= 4096:
            instances.append(instance)
    columns = {k: [inst[k] for inst in instances] for k in instances[0]}
    singles = [solve_amwc(**inst, num_threads=1) for inst in instances]
    for threads in THREAD_COUNTS[1:]:
        batch = solve_amwc_batch(**columns, num_threads=threads)
        for instance, single, result in zip(instances, singles, batch):
            check_amwc_solution(instance, result.labels, result.cut,
                                result.objective, result.clusters)
            assert_same_results(single, result)
    del columns['partitionable']
    mwc = [solve_mwc_batch(**columns, num_threads=t) for t in (1, 4)]
    for instance, one, four in zip(instances, *mwc):
        check_amwc_solution(instance, one.labels, one.cut, one.objective)
        assert_same_results(one, four)


def test_parallel_edges_inside_blocks_are_summed():
    """The blocks read their edges from the node adjacency of the whole
    graph: every edge split into two halves (one of them reversed) must give
    the solution of the original graph."""
    instance, _, _ = planted_grid_instance(np.random.default_rng(3))
    edges, edge_costs = instance['edges'], instance['edge_costs']
    split = dict(
        instance,
        edges=np.concatenate([edges, edges[:, ::-1]]),
        edge_costs=np.concatenate([edge_costs, edge_costs]) / 2)
    original, halves = solve_amwc(**instance), solve_amwc(**split)
    assert torch.equal(original.labels, halves.labels)
    assert torch.equal(original.clusters, halves.clusters)
    assert original.objective == pytest.approx(halves.objective)
    del instance['partitionable'], split['partitionable']
    original, halves = solve_mwc(**instance), solve_mwc(**split)
    assert torch.equal(original.labels, halves.labels)
    assert original.objective == pytest.approx(halves.objective)


def test_warm_start_growing_in_blocks_is_thread_independent():
    """A warm start with most nodes marked -1 grows them in blocks on the
    edges between marked nodes only."""
    rng = np.random.default_rng(4)
    instance, labels, segment = planted_grid_instance(rng)
    initial = labels.copy()
    initial[rng.random(len(initial)) < 0.6] = -1
    result = solve_on_every_thread_count(
        instance, initial_labels=initial, initial_clusters=segment)
    assert result.objective <= planted_objective(instance, labels,
                                                     segment) + 1e-6


def test_touching_instances_of_a_thing_label_stay_apart():
    """The blocks first join nodes along attractive edges whose two ends have
    the same cheapest label only for stuff labels: the planted instances of
    thing label 0 (segments 0 and 2) share a boundary with a few attractive
    edges across it (costs -0.3 + N(0, 0.2)), through which a union-find
    over all labels would glue them. With 80 rows the boundary (row 40)
    lies inside a block (rows 32-47)."""
    instance, labels, segment = planted_grid_instance(
        np.random.default_rng(6), height=80)
    edges = instance['edges']
    across = (segment[edges[:, 0]] == 0) & (segment[edges[:, 1]] == 2)
    assert (instance['edge_costs'][across] > 0).sum() >= 10
    result = solve_amwc(**instance, num_threads=1)
    clusters = result.clusters.numpy()
    majority = [np.bincount(clusters[segment == k]).argmax() for k in range(4)]
    assert len(set(majority)) == 4
    assert result.objective <= planted_objective(instance, labels, segment)


def test_many_labels_use_smaller_blocks():
    """Above 64 labels a block holds fewer nodes (its cost rows within
    1 MiB: 985 at 133 labels), so a 40 x 60 grid with 133 labels (2,400
    nodes) already runs in two blocks; the result stays exact and does not
    depend on the thread count."""
    rng = np.random.default_rng(7)
    height, width, num_labels = 40, 60, 133
    edges = grid_graph(height, width, (1, 4, 16)).numpy()
    ys, xs = np.divmod(np.arange(height * width), width)
    segment = 2 * (ys >= 13) + (xs >= 25)
    labels = np.array([0, 70, 0, 132])[segment]
    node_costs = rng.normal(scale=0.5, size=(height * width, num_labels))
    node_costs[np.arange(height * width), labels] -= 1.5
    same = segment[edges[:, 0]] == segment[edges[:, 1]]
    edge_costs = np.where(same, 0.3, -0.3) + rng.normal(
        scale=0.2, size=len(edges))
    partitionable = np.zeros(num_labels, dtype=bool)
    partitionable[:70] = True
    instance = dict(
        node_costs=node_costs,
        edges=edges,
        edge_costs=edge_costs,
        partitionable=partitionable)
    result = solve_on_every_thread_count(instance)
    assert result.objective <= planted_objective(instance, labels, segment)
