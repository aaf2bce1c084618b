"""The AMWC layer's warm-started backward (``warm_start=True``): the
perturbed solves start from the forward solution."""
import re
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from test_amwc_layer import check_finite_difference, pixel_regions
from tool_runs import run_tool

from mmcv_ops import grid_graph
from projects.cops.models.layers import AMWCLayer, amwc_function


def layer_gradients(node_costs, edge_costs, seed=7, **options):
    """Cost gradients of the layer for a fixed random incoming gradient."""
    node_costs = node_costs.clone().requires_grad_()
    edge_costs = edge_costs.clone().requires_grad_()
    torch.manual_seed(0)  # the sampled lambdas
    layer = AMWCLayer(2, 2, [1, 3], **options)
    segments = layer(node_costs, edge_costs,
                     pixel_regions(*node_costs.shape[:1],
                                   *node_costs.shape[2:]))
    incoming = torch.randn(
        segments.overlaps.shape, generator=torch.Generator().manual_seed(seed))
    segments.overlaps.backward(incoming)
    return torch.cat([node_costs.grad.flatten(), edge_costs.grad.flatten()])


def cold_and_warm(node_costs, edge_costs, num_classes, classes, incoming,
                  **options):
    """A 1-row scene through the layer cold and warm-started: the cost
    gradients of both and the warm solves' initial labels.

    Args:
        num_classes (tuple[int, int]): thing and stuff classes.
        classes (list[int]): the expected segment classes.
        incoming (dict): (segment, pixel) -> incoming overlap gradient.
        options: the other AMWCLayer arguments (edge distance 1).
    """
    grads = []
    for warm_start in (False, True):
        costs = node_costs.clone().requires_grad_()
        edges = edge_costs.clone().requires_grad_()
        layer = AMWCLayer(
            *num_classes, [1], warm_start=warm_start, **options)
        segments = layer(costs, edges,
                         pixel_regions(1, 1, node_costs.shape[-1]))
        assert segments.classes.tolist() == [classes]
        grad = torch.zeros_like(segments.overlaps)
        for (segment, pixel), value in incoming.items():
            grad[0, segment, pixel] = value
        with mock.patch.object(
                amwc_function,
                'solve_mwc_batch',
                wraps=amwc_function.solve_mwc_batch) as solve:
            segments.overlaps.backward(grad)
        initial = solve.call_args.kwargs['initial_labels']
        assert (initial is None) != warm_start
        grads.append(torch.cat([costs.grad.flatten(), edges.grad.flatten()]))
    return grads, [labels.tolist() for labels in initial]


def test_exact_finite_difference_with_warm_start():
    # 1x4 pixels, two stuff classes, every pixel prefers class 0 by 1; the
    # loss wants pixel 3 out of the class-0 mask: at lam = 10 it moves, so
    # the gradient is the same exact finite difference as cold
    # (tests/test_models/test_layers/test_amwc_layer.py)
    node_costs = torch.zeros(1, 2, 1, 4)
    node_costs[:, 0] = -1
    for baseline in ('amwc', 'mwc'):
        costs = node_costs.clone().requires_grad_()
        edges = torch.zeros(1, 1, 2, 1, 4, requires_grad=True)
        layer = AMWCLayer(
            0,
            2, [1],
            lambda_range=(10., 10.),
            num_samples=2,
            baseline=baseline,
            warm_start=True)
        segments = layer(costs, edges, pixel_regions(1, 1, 4))
        grad = torch.zeros_like(segments.overlaps)
        grad[0, 0, 3] = 1
        segments.overlaps.backward(grad)
        check_finite_difference(costs, edges)


def test_only_pushed_pixels_start_alone():
    # 1x5 pixels: thing clusters A = {0, 1} and B = {3, 4} of class 0, split
    # by stuff pixel 2. The loss pushes pixel 1 out of A and B (into class
    # 1) and pulls pixel 3 (already in B) into B. A and B are two own labels
    # of class 0 with equal costs; an argmin picks A's column at every
    # class-0 pixel, which the pull on B moves at pixel 3: "the cheapest
    # label changed" marked pixels 1 and 3. Only pixel 1 lost margin, so
    # only it starts alone, and the gradient is the cold solves' one.
    node_costs = torch.zeros(1, 2, 1, 5)
    node_costs[0, 0, 0] = torch.tensor([-1., -1., 0., -1., -1.])
    node_costs[0, 1, 0] = torch.tensor([0., -.5, -2., 0., 0.])
    edge_costs = torch.full((1, 1, 2, 1, 5), .6)
    for baseline in ('amwc', 'mwc'):
        # A and B (segments 1, 2) at pixel 1: out; B at pixel 3: in
        grads, initial = cold_and_warm(
            node_costs,
            edge_costs, (1, 1), [1, 0, 0], {
                (1, 1): 1,
                (2, 1): 1,
                (2, 3): -1
            },
            lambda_range=(10., 10.),
            num_samples=2,
            baseline=baseline)
        # own labels A = 0, B = 1, plain label of class 1 = 2; the 'mwc'
        # baseline's tiny push keeps pixel 1 on a cheapest label (A and B
        # rise alike), so there it marks nothing
        expected = [[0, -1, 2, 1, 1]] * 2
        if baseline == 'mwc':
            expected.insert(0, [0, 0, 2, 1, 1])
        assert initial == expected
        assert grads[0].any()
        assert torch.equal(grads[0], grads[1])


def test_a_boundary_pixel_tipped_over_by_its_edges_starts_alone():
    # 1x3 pixels, stuff: pixel 1 keeps class 0 (cost -1 against -0.5) although
    # its two edges (0.2 each) pull it to the class-1 pixels around it; the
    # loss pulls it into the class-1 segment by 0.2 at lam = 1: class 0 is
    # still its cheapest label (margin unchanged), but the move to its
    # neighbours' label now gains 0.1, so it starts alone and the warm solve
    # finds the cold one
    node_costs = torch.tensor([[0., -1., 0.], [-2., -.5, -2.]]).view(
        1, 2, 1, 3)
    edge_costs = torch.full((1, 1, 2, 1, 3), .2)
    # the class-1 segment at pixel 1: in
    grads, initial = cold_and_warm(
        node_costs,
        edge_costs, (0, 2), [0, 1], {(1, 1): -.2},
        lambda_range=(1., 1.),
        num_samples=2)
    # own label of the class-1 segment = 0, plain label of class 0 = 1
    assert initial == [[0, -1, 0]] * 2
    assert grads[0].any()
    assert torch.equal(grads[0], grads[1])


def test_nothing_moved_gives_zero_gradient_with_warm_start():
    torch.manual_seed(0)
    node_costs = 2 * torch.randn(4, 4, 16, 16)
    edge_costs = torch.randn(4, 2, 2, 16, 16) + 0.5
    grads = layer_gradients(
        node_costs,
        edge_costs,
        lambda_range=(1e-3, 1e-3),
        num_samples=2,
        baseline='mwc',
        plain_thing_labels=True,
        warm_start=True)
    assert not grads.any()


def test_warm_and_cold_gradients_agree():
    # a planted scene (two instances of thing classes 0 and 1, stuff 2 and
    # 3) with pixel noise; measured cosine similarity of the two gradients:
    # 0.9993 at lambda in [10, 50] (0.996 while the first node-move sweep
    # skipped the marked nodes' neighbours in other segments); at [1, 5]
    # 0.96 (0.89 when every pixel whose cheapest label changed was marked),
    # where the cold solves' disagreement with the forward solution
    # (unperturbed, see amwc_function) weighs most
    torch.manual_seed(0)
    classes = torch.zeros(4, 32, 32, dtype=torch.long)
    classes[:, 16:] = 3
    classes[:, 4:12, 4:12] = 0
    classes[:, 20:28, 16:30] = 1
    node_costs = -3 * F.one_hot(classes, 4).permute(0, 3, 1, 2).float()
    node_costs += 0.3 * torch.randn(4, 4, 32, 32)
    edge_costs = 1 + 0.1 * torch.randn(4, 2, 2, 32, 32)
    options = dict(lambda_range=(10., 50.), num_samples=5)
    cold = layer_gradients(node_costs, edge_costs, **options)
    warm = layer_gradients(node_costs, edge_costs, warm_start=True, **options)
    assert cold.any()
    assert F.cosine_similarity(cold, warm, 0) > 0.998


def test_stage2_gradient_stats_on_an_instance(tmp_path):
    # tools/analysis_tools/stage2_gradient_stats.py --instance --warm-start:
    # a planted 12x16 instance (thing class 1 with two instances, stuff 0
    # and 2) whose node costs prefer the ground truth, with the PQ loss of
    # configs/cops_r50_cityscapes.py
    gt_sem = torch.zeros(12, 16, dtype=torch.long)
    gt_sem[6:] = 2
    gt_seg = gt_sem.clone()
    gt_sem[2:5, 2:6] = gt_sem[7:11, 9:14] = 1
    gt_seg[2:5, 2:6], gt_seg[7:11, 9:14] = 3, 4
    generator = torch.Generator().manual_seed(0)
    node_costs = -F.one_hot(gt_sem.flatten(), 3).double() + 0.4 * torch.randn(
        12 * 16, 3, generator=generator, dtype=torch.float64)
    edge_distances = (1, 2)
    edges = grid_graph(12, 16, edge_distances)
    same = gt_seg.flatten()[edges[:, 0]] == gt_seg.flatten()[edges[:, 1]]
    edge_costs = 0.5 * (2 * same.double() - 1) + 0.5 * torch.randn(
        len(edges), generator=generator, dtype=torch.float64)
    edge_dist = torch.cat([
        torch.full((count, ), d) for d, count in zip(
            edge_distances, [11 * 16 + 12 * 15, 10 * 16 + 12 * 14])
    ])
    path = tmp_path / 'planted.npz'
    np.savez(
        path,
        node_costs=node_costs.numpy(),
        edge_costs=edge_costs.numpy(),
        edge_dist=edge_dist.numpy(),
        partitionable=np.array([False, True, False]),
        gt_sem=gt_sem.numpy(),
        gt_seg=gt_seg.numpy(),
        shape=np.array([12, 16]))
    output = run_tool('analysis_tools/stage2_gradient_stats.py',
                      'configs/cops_r50_cityscapes.py', '--instance',
                      str(path), '--decades', '3', '--warm-start')
    rows = re.findall(
        r'^\s*(config|\[1e3, 1e4\))' + r'\s+([\d.]+)' * 7 + r'$', output,
        re.M)
    assert [row[0] for row in rows] == ['config', '[1e3, 1e4)'], output
    for _, mean, largest, forward, cold, warm, marking, cosine in rows:
        assert 0 <= float(mean) <= float(largest) <= 100
        assert min(float(t) for t in (forward, cold, warm, marking)) >= 0
        assert 0.9 <= float(cosine) <= 1 + 1e-6


def test_cheaper_neighbour_moves_match_a_direct_sum():
    # _cheaper_neighbour_moves against a loop over pixels and edges on a
    # random 6x7 grid with 4 labels, some pixels unlabelled (-1)
    generator = torch.Generator().manual_seed(0)
    edges = grid_graph(6, 7, (1, 2))
    edge_costs = torch.randn(len(edges), generator=generator)
    initial = torch.randint(-1, 4, (42, ), generator=generator)
    direction = torch.randint(
        -2, 3, (42, 4), generator=generator).double()
    pixels, labels, edge_gains = amwc_function._cheaper_neighbour_moves(
        initial, direction, torch.nonzero(initial >= 0).flatten(), edges,
        edge_costs)
    found = {(p, l): gain
             for p, l, gain in zip(pixels.tolist(), labels.tolist(),
                                   edge_gains.tolist())}
    expected = {}
    for p in range(42):
        own = int(initial[p])
        if own < 0:
            continue
        joined = torch.zeros(4, dtype=torch.float64)
        for (i, j), w in zip(edges.tolist(), edge_costs.double()):
            q = j if i == p else i if j == p else None
            if q is not None and initial[q] >= 0:
                joined[initial[q]] += w
        neighbours = {
            int(initial[j if i == p else i])
            for i, j in edges.tolist() if p in (i, j)
        }
        for label in neighbours - {own, -1}:
            if direction[p, label] < direction[p, own]:
                expected[(p, label)] = float(joined[label] - joined[own])
    assert found.keys() == expected.keys() and len(found) > 10
    for key, gain in expected.items():
        assert abs(found[key] - gain) < 1e-9
