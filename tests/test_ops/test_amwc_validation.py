# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest
import torch

from mmcv_ops import _ext, solve_amwc, solve_amwc_batch, solve_mwc_batch


def valid():
    return dict(
        node_costs=np.zeros((3, 2)),
        edges=np.array([[0, 1], [1, 2]]),
        edge_costs=np.ones(2),
        partitionable=np.array([True, False]))


@pytest.mark.parametrize('key, value, error, match', [
    ('node_costs', np.zeros(3), ValueError,
     r'node_costs must have shape \[N, L\]'),
    ('node_costs', np.zeros((3, 0)), ValueError, r'L >= 1'),
    ('node_costs', np.zeros(
        (3, 2), np.int64), TypeError, 'node_costs must be'),
    ('node_costs', np.array(
        [[0., np.nan]] * 3), ValueError, 'node_costs must be finite'),
    ('node_costs', np.array(
        [[0., np.inf]] * 3), ValueError, 'node_costs must be finite'),
    ('node_costs', np.array(
        [[0., -np.inf]] * 3), ValueError, 'node_costs must be finite'),
    ('node_costs', [[0., 1.]] * 3, TypeError, 'node_costs must be a torch'),
    ('edges', np.array([0, 1]), ValueError, r'edges must have shape \[E, 2\]'),
    ('edges', np.array([[0, 1, 2]]), ValueError, 'edges must have shape'),
    ('edges', np.array([[0., 1.]]), TypeError, 'edges must be int32'),
    ('edges', np.array([[0, 3], [1, 2]]), ValueError, r'\[0, 3\)'),
    ('edges', np.array([[-1, 1], [1, 2]]), ValueError, 'node indices'),
    ('edges', np.array([[1, 1], [1, 2]]), ValueError, 'self-loops'),
    ('edges', np.array([[0, 1], [1, -1]], np.int32), ValueError,
     r'edge 1 is \(1, -1\)'),
    ('edges', np.array([[0, 1], [3, 1]], np.int32), ValueError, r'\[0, 3\)'),
    ('edges', np.array([[0, 1], [2, 2]], np.int32), ValueError,
     'edge 1 joins node 2'),
    ('edges', np.array([[0, 2**40], [1, 2]]), ValueError,
     r'edge 0 is \(0, 1099511627776\)'),
    ('edges', np.array([[0, 1], [-2**40, 2]]), ValueError, 'node indices'),
    ('edge_costs', np.ones(3), ValueError,
     r'edge_costs must have shape \[E\] = \[2\]'),
    ('edge_costs', np.ones((2, 1)), ValueError, r'edge_costs must have shape \[E\]'),
    ('edge_costs', np.array([1., np.nan
                             ]), ValueError, 'edge_costs must be finite'),
    ('edge_costs', np.ones(2, np.int32), TypeError, 'edge_costs must be'),
    ('partitionable', np.array([1, 0]), TypeError, 'partitionable must be bool'),
    ('partitionable', np.array(
        [True]), ValueError, r'partitionable must have shape \[L\] = \[2\]'),
    ('partitionable', None, TypeError, 'partitionable must be a bool'),
    ('initial_labels', np.array([0, 2, 0]), ValueError, r'labels in \[0, 2\)'),
    ('initial_labels', np.array([0, -2, 0]), ValueError, 'or -1, node 1'),
    ('initial_labels', np.zeros(2, np.int64), ValueError,
     r'initial_labels must have shape \[N\] = \[3\]'),
    ('initial_labels', np.zeros(3), TypeError, 'initial_labels must be int'),
    ('initial_clusters', np.array([0, 1, 3]), ValueError,
     r'cluster ids in \[0, 3\)'),
    ('initial_clusters', np.array([0, 0, 0]), ValueError,
     'one label, cluster 0 has labels 0 and 1'),
])
def test_invalid_argument(key, value, error, match):
    args = valid()
    if key == 'initial_clusters':
        args['initial_labels'] = np.array([0, 1, 1])
    args[key] = value
    with pytest.raises(error, match=match):
        solve_amwc(**args)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize('key', ['node_costs', 'edge_costs'])
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_one_non_finite_cost_among_many(key, bad, dtype):
    """The vectorised finiteness check finds one bad value at any place, in
    the costs' own type (large finite values pass)."""
    rng = np.random.default_rng(0)
    n = 1000
    scale = 1e300 if dtype == np.float64 else 1e30
    args = dict(
        node_costs=(rng.normal(size=(n, 3)) * scale).astype(dtype),
        edges=np.stack([np.arange(n - 1), np.arange(1, n)], 1),
        edge_costs=(rng.normal(size=n - 1) * scale).astype(dtype),
        partitionable=np.array([True, False, False]))
    solve_amwc(**args)
    for position in (0, 517, args[key].size - 1):
        values = args[key].copy()
        values.flat[position] = bad
        with pytest.raises(ValueError, match=f'{key} must be finite'):
            solve_amwc(**{**args, key: values})


def test_invalid_batch_arguments():
    args = valid()
    with pytest.raises(TypeError, match='node_costs must be a list'):
        solve_amwc_batch(args['node_costs'], args['edges'],
                         [args['edge_costs']], args['partitionable'])
    with pytest.raises(TypeError, match='edge_costs must be a list'):
        solve_mwc_batch([args['node_costs']], args['edges'],
                        args['edge_costs'])
    with pytest.raises(ValueError, match='initial_clusters needs initial'):
        solve_amwc(**args, initial_clusters=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match='one array per instance'):
        solve_mwc_batch([args['node_costs']] * 2, args['edges'],
                        [args['edge_costs']])
    with pytest.raises(ValueError, match='list of 2 arrays'):
        solve_mwc_batch([args['node_costs']] * 2, [args['edges']] * 3,
                        [args['edge_costs']] * 2)
    with pytest.raises(
            ValueError, match='node_costs must be finite.*instance 1'):
        solve_mwc_batch(
            [args['node_costs'], np.full(
                (3, 2), np.nan)], args['edges'], [args['edge_costs']] * 2)
    # one edges tensor for instances of different sizes: checked per size
    with pytest.raises(
            ValueError, match=r'node indices in \[0, 2\).*instance 1'):
        solve_mwc_batch([args['node_costs'], args['node_costs'][:2]],
                        args['edges'], [args['edge_costs']] * 2)
    for threads, error in ((0, ValueError), (1.5, TypeError), (True,
                                                               TypeError)):
        with pytest.raises(error, match='num_threads'):
            solve_mwc_batch([args['node_costs']],
                            args['edges'], [args['edge_costs']],
                            num_threads=threads)


def test_extension_checks_direct_calls():
    """The C++ op rejects bad input itself when called without the wrapper."""
    costs = torch.zeros(3, 2, dtype=torch.float64)
    edges = torch.tensor([[0, 1], [1, 2]])
    weights = torch.ones(2, dtype=torch.float64)
    part = torch.tensor([True, False])

    def direct(node_costs=costs, edge_list=(edges, ), edge_costs=weights,
               partitionable=part, labels=None, clusters=None):
        _ext.solve_amwc_batch([node_costs], list(edge_list), [edge_costs],
                              [partitionable], [labels], [clusters], 1)

    with pytest.raises(ValueError, match='node indices in'):
        direct(edge_list=[torch.tensor([[0, 5], [1, 2]])])
    with pytest.raises(ValueError, match='self-loops'):
        direct(edge_list=[torch.tensor([[1, 1], [1, 2]])])
    with pytest.raises(ValueError, match='must be finite'):
        direct(node_costs=torch.full_like(costs, float('nan')))
    with pytest.raises(TypeError, match='node_costs must be float32 or'):
        direct(node_costs=costs.long())
    with pytest.raises(TypeError, match='edges must be int32 or int64'):
        direct(edge_list=[edges.float()])
    with pytest.raises(TypeError, match='partitionable must be bool'):
        direct(partitionable=part.int())
    with pytest.raises(ValueError, match=r'edge_costs must have shape \[E\]'):
        direct(edge_costs=weights[:1])
    with pytest.raises(ValueError, match='same number of instances'):
        direct(edge_list=[edges, edges])
    with pytest.raises(ValueError, match='contiguous CPU'):
        direct(node_costs=torch.zeros(2, 3, dtype=torch.float64).t())
    with pytest.raises(ValueError, match='initial_labels must be a contig'):
        direct(labels=torch.zeros(6, dtype=torch.long)[::2])
