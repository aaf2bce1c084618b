"""The one path from cost maps to AMWC solutions (inference and the AMWC
layer): valid-grid crops, shared graphs, one batched solve."""
import torch

from mmcv_ops import grid_graph, grid_maps_to_edge_values, solve_amwc
from projects.cops.models.utils import grid_problems, solve_grid_amwc

EDGE_DISTANCES = (1, 2)
PARTITIONABLE = torch.tensor([True, False, False])


def random_maps(seed, batch=3, height=7, width=9):
    generator = torch.Generator().manual_seed(seed)
    node_maps = torch.randn(batch, 3, height, width, generator=generator)
    edge_maps = torch.randn(
        batch, len(EDGE_DISTANCES), 2, height, width, generator=generator)
    return node_maps, edge_maps


def test_problems_are_the_valid_crops():
    node_maps, edge_maps = random_maps(0)
    shapes = [(7, 9), (4, 5), (7, 9)]
    problems = grid_problems(node_maps, edge_maps, EDGE_DISTANCES, shapes)
    for i, (height, width) in enumerate(shapes):
        crop = node_maps[i, :, :height, :width]
        assert torch.equal(problems.node_values[i],
                           crop.permute(1, 2, 0).reshape(-1, 3))
        assert torch.equal(problems.edges[i],
                           grid_graph(height, width, EDGE_DISTANCES))
        assert torch.equal(
            problems.edge_values[i],
            grid_maps_to_edge_values(edge_maps[i, ..., :height, :width],
                                     EDGE_DISTANCES))
    # one graph per distinct shape
    assert problems.edges[0] is problems.edges[2]
    # None: the whole grid of every image
    whole = grid_problems(node_maps, edge_maps, EDGE_DISTANCES)
    assert [len(v) for v in whole.node_values] == [63] * 3


def test_padding_does_not_reach_the_solver():
    node_maps, edge_maps = random_maps(1)
    shapes = [(7, 9), (3, 6), (5, 2)]
    _, solutions = solve_grid_amwc(node_maps, edge_maps, EDGE_DISTANCES,
                                   PARTITIONABLE, shapes, num_threads=2)
    garbage_nodes, garbage_edges = random_maps(2)
    for i, (height, width) in enumerate(shapes):
        valid = (i, Ellipsis, slice(height), slice(width))
        garbage_nodes[valid] = node_maps[valid]
        garbage_edges[valid] = edge_maps[valid]
    _, padded = solve_grid_amwc(garbage_nodes, garbage_edges, EDGE_DISTANCES,
                                PARTITIONABLE, shapes, num_threads=2)
    for i, (height, width) in enumerate(shapes):
        alone = solve_amwc(
            node_maps[i, :, :height, :width].flatten(1).t(),
            grid_graph(height, width, EDGE_DISTANCES),
            grid_maps_to_edge_values(edge_maps[i, ..., :height, :width],
                                     EDGE_DISTANCES), PARTITIONABLE)
        for solution in (solutions[i], padded[i]):
            assert torch.equal(solution.labels, alone.labels)
            assert torch.equal(solution.clusters, alone.clusters)
            assert torch.equal(solution.cut, alone.cut)
