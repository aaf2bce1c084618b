# Copyright (c) OpenMMLab. All rights reserved.
"""Warm-started solves (``initial_labels`` / ``initial_clusters``): the
contraction starts from a given solution's clusters instead of single
nodes, as the backward does for its perturbed problems."""
import numpy as np
import pytest
import torch

from mmcv_ops import (grid_graph, solve_amwc, solve_amwc_batch, solve_mwc,
                      solve_mwc_batch)
from mmcv_ops.testing import check_amwc_solution, random_amwc_instance


def grid_instance(rng, height=40, width=60, num_labels=6):
    """Noisy costs around a planted labelling of a grid (labels 0-2 things)."""
    edges = grid_graph(height, width, (1, 4, 16)).numpy()
    ys, xs = np.divmod(np.arange(height * width), width)
    planted = (ys * 3 // height) * 2 + (xs * 2 // width)
    node_costs = rng.normal(scale=0.5, size=(height * width, num_labels))
    node_costs[np.arange(height * width), planted] -= 1.0
    same = planted[edges[:, 0]] == planted[edges[:, 1]]
    edge_costs = np.where(same, 0.4, -0.4) + rng.normal(
        scale=0.3, size=len(edges))
    partitionable = np.arange(num_labels) < 3
    return dict(
        node_costs=node_costs,
        edges=edges,
        edge_costs=edge_costs,
        partitionable=partitionable)


def test_warm_start_from_own_solution_never_worse():
    rng = np.random.default_rng(0)
    for _ in range(20):
        instance = random_amwc_instance(rng, max_nodes=200)
        cold = solve_amwc(**instance)
        warm = solve_amwc(
            **instance,
            initial_labels=cold.labels,
            initial_clusters=cold.clusters)
        check_amwc_solution(instance, warm.labels, warm.cut, warm.objective,
                            warm.clusters)
        assert warm.objective <= cold.objective + 1e-9
        mwc_args = {k: v for k, v in instance.items() if k != 'partitionable'}
        cold_mwc = solve_mwc(**mwc_args)
        warm_mwc = solve_mwc(**mwc_args, initial_labels=cold_mwc.labels)
        check_amwc_solution(instance, warm_mwc.labels, warm_mwc.cut,
                            warm_mwc.objective)
        assert warm_mwc.objective <= cold_mwc.objective + 1e-9


def test_warm_start_after_perturbation():
    """A perturbation of part of the costs. With the perturbed nodes marked
    -1 (they start alone) the warm start follows it (the region takes the
    new label) and its objective is within a small margin of the cold
    solve's. Unmarked, the region's old cluster can only move as a whole:
    here it takes the new label everywhere, a worse but feasible solution."""
    rng = np.random.default_rng(1)
    instance = grid_instance(rng)
    base = solve_amwc(**instance)
    perturbed = dict(instance)
    node_costs = instance['node_costs'].copy()
    region = np.zeros((40, 60), bool)
    region[5:15, 10:30] = True
    node_costs[region.ravel(), 5] -= 3.0  # push a block to stuff label 5
    perturbed['node_costs'] = node_costs
    cold = solve_amwc(**perturbed)
    held = solve_amwc(
        **perturbed,
        initial_labels=base.labels,
        initial_clusters=base.clusters)
    initial_labels = base.labels.clone()
    initial_labels[torch.from_numpy(region.ravel())] = -1
    warm = solve_amwc(
        **perturbed,
        initial_labels=initial_labels,
        initial_clusters=base.clusters)
    check_amwc_solution(perturbed, held.labels, held.cut, held.objective,
                        held.clusters)
    assert held.objective > cold.objective + 1e-2 * abs(cold.objective)
    check_amwc_solution(perturbed, warm.labels, warm.cut, warm.objective,
                        warm.clusters)
    assert (warm.labels.numpy()[region.ravel()] == 5).mean() > 0.95
    assert warm.objective <= cold.objective + 1e-3 * abs(cold.objective)
    # int32 inputs, a shared initial array in a batch, thread counts
    batch = [
        solve_amwc_batch([perturbed['node_costs']] * 3,
                         perturbed['edges'], [perturbed['edge_costs']] * 3,
                         perturbed['partitionable'],
                         num_threads=threads,
                         initial_labels=initial_labels.int(),
                         initial_clusters=base.clusters.int())
        for threads in (1, 3)
    ]
    for result in batch[0] + batch[1]:
        assert torch.equal(result.labels, warm.labels)
        assert result.objective == warm.objective


def test_warm_start_batch_mixes_cold_and_warm():
    rng = np.random.default_rng(2)
    instance = grid_instance(rng, height=70, width=70)  # block phase too
    mwc_args = {k: v for k, v in instance.items() if k != 'partitionable'}
    cold = solve_mwc(**mwc_args)
    results = solve_mwc_batch([instance['node_costs']] * 2,
                              instance['edges'],
                              [instance['edge_costs']] * 2,
                              initial_labels=[None, cold.labels])
    assert torch.equal(results[0].labels, cold.labels)
    assert results[1].objective <= cold.objective + 1e-9
    # every node marked: the same block phase and result as a cold solve
    alone = solve_amwc(
        **instance,
        num_threads=2,
        initial_labels=np.full(len(instance['node_costs']), -1))
    cold_amwc = solve_amwc(**instance, num_threads=1)
    assert torch.equal(alone.labels, cold_amwc.labels)
    assert torch.equal(alone.clusters, cold_amwc.clusters)
    with pytest.raises(ValueError, match='initial_labels must be one array'):
        solve_mwc_batch([instance['node_costs']] * 2,
                        instance['edges'], [instance['edge_costs']] * 2,
                        initial_labels=[cold.labels] * 3)


def test_warm_start_node_moves_visit_marked_nodes():
    """A warm start's node moves first visit the marked nodes only (then
    the neighbours of the nodes that move): of two single nodes pushed to
    another label, the marked one moves and the unmarked one keeps its
    cluster (its costs are taken as unmoved, which is what makes a warm
    solve cost what moves)."""
    rng = np.random.default_rng(3)
    instance = grid_instance(rng)
    base = solve_amwc(**instance)
    pushed = [5 * 60 + 5, 30 * 60 + 50]  # far apart
    node_costs = instance['node_costs'].copy()
    node_costs[pushed, :] = 10.0
    node_costs[pushed, 4] = -10.0  # far below what the neighbours bind
    initial_labels = base.labels.clone()
    initial_labels[pushed[0]] = -1
    warm = solve_amwc(
        **dict(instance, node_costs=node_costs),
        initial_labels=initial_labels,
        initial_clusters=base.clusters)
    assert warm.labels[pushed[0]] == 4
    assert warm.labels[pushed[1]] == base.labels[pushed[1]] != 4
    cold = solve_amwc(**dict(instance, node_costs=node_costs))
    assert cold.labels[pushed[1]] == 4
