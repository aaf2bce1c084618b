# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch

from mmcv_ops import (edge_values_to_grid_maps, grid_graph,
                      grid_maps_to_edge_values)

# 3 x 4 grid, node = y * 4 + x; offset 3 has no vertical edges (3 >= H).
OFFSETS = [1, 2, 3]
# yapf: disable
EXPECTED_EDGES = [
    # d = 1, vertical (y, x)-(y + 1, x), row-major over y < 2
    (0, 4), (1, 5), (2, 6), (3, 7), (4, 8), (5, 9), (6, 10), (7, 11),
    # d = 1, horizontal (y, x)-(y, x + 1), row-major over x < 3
    (0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
    # d = 2, vertical, y < 1
    (0, 8), (1, 9), (2, 10), (3, 11),
    # d = 2, horizontal, x < 2
    (0, 2), (1, 3), (4, 6), (5, 7), (8, 10), (9, 11),
    # d = 3, horizontal only, x < 1
    (0, 3), (4, 7), (8, 11),
]
# (offset index, channel) of every expected edge, in order
EXPECTED_SLOTS = [(0, 0)] * 8 + [(0, 1)] * 9 + [(1, 0)] * 4 + [(1, 1)] * 6 + \
    [(2, 1)] * 3
# yapf: enable


def test_grid_graph_hand_made():
    edges = grid_graph(3, 4, OFFSETS)
    assert edges.dtype == torch.long
    assert edges.tolist() == [list(e) for e in EXPECTED_EDGES]
    assert grid_graph(3, 4, [5]).shape == (0, 2)


def test_map_value_sits_on_first_pixel():
    maps = torch.arange(3 * 2 * 3 * 4, dtype=torch.float32).reshape(3, 2, 3, 4)
    values = grid_maps_to_edge_values(maps, OFFSETS)
    assert values.shape == (len(EXPECTED_EDGES), )
    for value, (i, _), (k, channel) in zip(values.tolist(), EXPECTED_EDGES,
                                           EXPECTED_SLOTS):
        assert value == maps[k, channel, i // 4, i % 4]


def test_round_trips_and_gradient():
    torch.manual_seed(0)
    height, width, edge_distances = 5, 7, [1, 3, 6]
    num_edges = grid_graph(height, width, edge_distances).shape[0]
    values = torch.randn(2, 3, num_edges, requires_grad=True)
    maps = edge_values_to_grid_maps(
        values, height, width, edge_distances, fill=-9.)
    assert maps.shape == (2, 3, 3, 2, height, width)
    assert torch.equal(grid_maps_to_edge_values(maps, edge_distances), values)
    # positions without an edge hold the fill value
    assert (maps[..., 2, 0, :, :] == -9.).all()  # 6 >= height
    assert (maps[..., 1, 1, :, width - 3:] == -9.).all()
    maps.sum().backward()
    assert torch.equal(values.grad, torch.ones_like(values))
    dense = torch.randn(3, 2, height, width)
    back = edge_values_to_grid_maps(
        grid_maps_to_edge_values(dense, edge_distances), height, width,
        edge_distances)
    valid = edge_values_to_grid_maps(
        torch.ones(num_edges), height, width, edge_distances).bool()
    assert torch.equal(back[valid], dense[valid])
    assert (back[~valid] == 0).all()


@pytest.mark.parametrize('call, error, match', [
    (lambda: grid_graph(0, 4, [1]), ValueError, 'height'),
    (lambda: grid_graph(3, 2.5, [1]), ValueError, 'width'),
    (lambda: grid_graph(3, 4, []), ValueError, 'edge_distances'),
    (lambda: grid_graph(3, 4, [1, 0]), ValueError, 'edge distance'),
    (lambda: grid_maps_to_edge_values(torch.zeros(2, 2, 3, 4), [1]),
     ValueError, r'D=1'),
    (lambda: grid_maps_to_edge_values([[0.]], [1]), TypeError, 'maps'),
    (lambda: edge_values_to_grid_maps(torch.zeros(5), 3, 4, [1]), ValueError,
     r'E=17'),
    (lambda: edge_values_to_grid_maps([0.], 3, 4, [1]), TypeError, 'values'),
])
def test_grid_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()
