"""AMWC layer: panoptic segments forward, perturbed-MWC gradients
backward."""
import pytest
import torch

from mmdet.registry import MODELS
from projects.cops.models.layers import AMWCLayer
from projects.cops.models.layers.amwc_function import (AMWCSettings,
                                                       _extended_problem,
                                                       segments_from_solution)


def masks_of(segments, image=0):
    """[M, H, W] bool masks of the valid segments of one image."""
    num = int(segments.valid[image].sum())
    return segments.segment_ids[image][None] == torch.arange(num)[:, None,
                                                                   None]


def pixel_regions(batch, height, width):
    """Every pixel its own region: overlaps are then the dense masks."""
    return torch.arange(height * width).view(1, height, width).expand(
        batch, -1, -1).clone()


def costs_for(class_map, num_classes, margin=3.):
    """[1, C, H, W] node costs that prefer ``class_map`` by ``margin``."""
    one_hot = torch.nn.functional.one_hot(class_map, num_classes)
    return -margin * one_hot.permute(2, 0, 1)[None].float()


def test_forward_masks_classes_and_order():
    # thing 0 in the right half, split by a repulsive vertical boundary at
    # row 3; stuff 1 left, stuff 2 absent.
    class_map = torch.ones(6, 6, dtype=torch.long)
    class_map[:, 3:] = 0
    edges = torch.ones(1, 1, 2, 6, 6)
    edges[0, 0, 0, 2, 3:] = -10  # vertical edges (2, x)-(3, x)
    layer = AMWCLayer(1, 2, edge_distances=[1])
    segments = layer(costs_for(class_map, 3), edges)
    assert segments.classes.tolist() == [[1, 0, 0]]
    assert segments.valid.all()
    assert segments.segment_ids.shape == (1, 6, 6)
    assert segments.areas.tolist() == [[18., 9., 9.]]
    masks = masks_of(segments)
    assert torch.equal(masks[0], class_map == 1)
    top, bottom = torch.zeros(2, 6, 6, dtype=torch.bool)
    top[:3, 3:] = True
    bottom[3:, 3:] = True
    assert {tuple(m.flatten().tolist())
            for m in masks[1:]} == {
                tuple(top.flatten().tolist()),
                tuple(bottom.flatten().tolist())
            }


def test_batch_padding_zero_instance_and_zero_stuff_images():
    stuff_only = torch.ones(4, 4, dtype=torch.long)
    stuff_only[2:] = 2
    things_only = torch.zeros(4, 4, dtype=torch.long)
    node_costs = torch.cat(
        [costs_for(stuff_only, 3),
         costs_for(things_only, 3)])
    edges = torch.ones(2, 1, 2, 4, 4)
    edges[1, 0, 1, :, 1] = -10  # split the thing image at column 2
    segments = AMWCLayer(1, 2, [1])(node_costs, edges)
    assert segments.classes.tolist() == [[1, 2], [0, 0]]
    assert segments.valid.all()
    assert segments.areas.tolist() == [[8., 8.], [8., 8.]]
    edges[1] = 1
    segments = AMWCLayer(1, 2, [1])(node_costs, edges)
    assert segments.classes.tolist() == [[1, 2], [0, -1]]
    assert segments.valid.tolist() == [[True, True], [True, False]]
    assert segments.areas[1, 1] == 0


def test_small_instances_are_dropped():
    labels = torch.tensor([[0, 0, 0, 1, 0]])
    clusters = torch.tensor([[5, 5, 5, 0, 7]])
    segment_ids, classes, valid = segments_from_solution(
        labels, clusters, torch.tensor([True, False]), min_instance_area=2)
    assert classes.tolist() == [[1, 0]] and valid.all()
    assert segment_ids.tolist() == [[1, 1, 1, 0, -1]]


def test_overlaps_and_weighted_areas_are_bincounts():
    class_map = torch.zeros(2, 4, dtype=torch.long)
    class_map[:, 2:] = 1
    regions = torch.tensor([[[0, 1, 1, -1], [0, 0, 1, 1]]])
    weights = torch.tensor([[[1., 2., 1., 5.], [0., 1., 1., 1.]]])
    segments = AMWCLayer(0, 2, [1])(
        costs_for(class_map, 2), torch.ones(1, 1, 2, 2, 4), regions, weights)
    assert segments.overlaps.tolist() == [[[2., 2.], [0., 3.]]]
    assert segments.weighted_areas.tolist() == [[4., 8.]]
    assert segments.areas.tolist() == [[4., 4.]]


def extended(segment_classes, settings, grad_areas=None):
    """Extended labels of one 1-pixel image with the given area gradients."""
    num = len(segment_classes)
    grad_areas = torch.ones(num, dtype=torch.float64) if (
        grad_areas is None) else grad_areas
    grads = [torch.zeros(num, 0, dtype=torch.float64),
             torch.zeros(num, dtype=torch.float64), grad_areas]
    return _extended_problem(grads, torch.tensor(segment_classes),
                             torch.tensor([-1]), torch.ones(1,
                                                            dtype=torch.float64),
                             torch.tensor([True, True, False, False]),
                             settings)[:2]


def settings(**kwargs):
    return AMWCSettings((1, ), 0, (1., 1.), 1, None)._replace(**kwargs)


def test_extended_labels_original_and_plain_thing_labels():
    # the original: plain labels only for classes without a segment
    labels, direction = extended([2, 0, 0], settings())
    assert labels.tolist() == [2, 0, 0, 1, 3]
    assert direction.tolist() == [[1., 1., 1., 0., 0.]]
    labels, _ = extended([2, 0, 0], settings(plain_thing_labels=True))
    assert labels.tolist() == [2, 0, 0, 0, 1, 3]


@pytest.mark.parametrize('plain_thing_labels', [False, True])
def test_removing_a_fragment_through_the_plain_thing_label_is_free(
        plain_thing_labels):
    # a 2x2 thing fragment in stuff, pushed out by a gradient on its area:
    # with a plain label per thing class its pixels move there, same class
    # and same cuts, so the gradient is zero (the measured cause of more
    # false-positive fragments, docs/experiments.md); with the original's
    # labels they must change class
    node_costs = torch.zeros(1, 2, 8, 8)
    node_costs[0, 1] = -1.  # stuff
    node_costs[0, 0, 3:5, 3:5] = -3.  # the thing fragment
    node_costs.requires_grad_()
    edge_costs = torch.full((1, 1, 2, 8, 8), 0.5, requires_grad=True)
    layer = AMWCLayer(
        1,
        1,
        edge_distances=[1],
        lambda_range=(10., 20.),
        num_samples=2,
        baseline='mwc',
        plain_thing_labels=plain_thing_labels)
    segments = layer(node_costs, edge_costs)
    assert segments.classes[0].tolist() == [1, 0]
    segments.areas[0, 1].backward()
    moved = node_costs.grad.abs().sum() + edge_costs.grad.abs().sum()
    if plain_thing_labels:
        assert moved < 1e-9
    else:
        assert moved > 0.1


def test_extended_labels_pool_zero_and_smallest_gradients(caplog):
    # a segment with a zero gradient needs no label of its own: its class's
    # plain label stands for it
    labels, direction = extended(
        [2, 0, 0], settings(), torch.tensor([1., 0., 3.], dtype=torch.float64))
    assert labels.tolist() == [2, 0, 0, 1, 3]
    assert direction.tolist() == [[1., 3., 0., 0., 0.]]
    # at most max_labels own labels: the largest gradients; the pooled
    # segment of class 2 gets class 2's plain label
    labels, direction = extended(
        [2, 0, 0], settings(max_labels=2),
        torch.tensor([1., -2., 3.], dtype=torch.float64))
    assert labels.tolist() == [0, 0, 1, 2, 3]
    assert direction.tolist() == [[-2., 3., 0., 0., 0.]]


def test_backward_is_the_perturbed_finite_difference():
    # 1x4 pixels, two stuff classes; every pixel prefers class 0 by 1 and
    # edges cost nothing. The loss wants pixel 3 out of the class-0 mask:
    # at lam = 10 its class-0 cost becomes 9 and it moves to class 1, so
    # grad = (y_lam - y) / lam: -0.1 for class 0 and +0.1 for class 1 at
    # pixel 3, and +0.1 for the edge (2, 3), now cut.
    node_costs = torch.zeros(1, 2, 1, 4)
    node_costs[:, 0] = -1
    node_costs.requires_grad_()
    edge_costs = torch.zeros(1, 1, 2, 1, 4, requires_grad=True)
    for baseline in ('amwc', 'mwc'):
        node_costs.grad = edge_costs.grad = None
        layer = AMWCLayer(
            0,
            2, [1],
            lambda_range=(10., 10.),
            num_samples=2,
            baseline=baseline)
        segments = layer(node_costs, edge_costs, pixel_regions(1, 1, 4))
        assert segments.classes.tolist() == [[0]]
        grad = torch.zeros_like(segments.overlaps)
        grad[0, 0, 3] = 1
        segments.overlaps.backward(grad)
        check_finite_difference(node_costs, edge_costs)


def check_finite_difference(node_costs, edge_costs):
    expected_nodes = torch.zeros(1, 2, 1, 4)
    expected_nodes[0, :, 0, 3] = torch.tensor([-0.1, 0.1])
    expected_edges = torch.zeros(1, 1, 2, 1, 4)
    expected_edges[0, 0, 1, 0, 2] = 0.1
    assert torch.allclose(node_costs.grad, expected_nodes)
    assert torch.allclose(edge_costs.grad, expected_edges)


def test_perturbation_too_small_to_move_anything_gives_zero_gradient():
    # A backward sample whose perturbation moves no pixel must contribute
    # nothing. The baseline of the finite difference is a multiway-cut solve
    # like the samples; against the forward AMWC solution, ~0.2 % of these
    # random instances' labels and cuts differed without any perturbation,
    # and that difference / lambda (here 1000 x) swamped the gradient
    # (baseline='mwc'; the original's 'amwc' baseline has that noise).
    torch.manual_seed(0)
    node_costs = (2 * torch.randn(4, 4, 16, 16)).requires_grad_()
    edge_costs = (torch.randn(4, 2, 2, 16, 16) + 0.5).requires_grad_()
    layer = AMWCLayer(
        2,
        2, [1, 3],
        lambda_range=(1e-3, 1e-3),
        num_samples=2,
        baseline='mwc',
        plain_thing_labels=True)
    segments = layer(node_costs, edge_costs, pixel_regions(4, 16, 16))
    segments.overlaps.backward(1e-3 * torch.randn_like(segments.overlaps))
    assert not node_costs.grad.any() and not edge_costs.grad.any()


def test_zero_incoming_gradient_gives_zero_gradient():
    torch.manual_seed(0)
    node_costs = torch.randn(2, 3, 5, 5, requires_grad=True)
    edge_costs = torch.randn(2, 2, 2, 5, 5, requires_grad=True)
    segments = AMWCLayer(1, 2, [1, 2])(node_costs, edge_costs,
                                       pixel_regions(2, 5, 5))
    torch.autograd.backward(
        segments[:3], [torch.zeros_like(t) for t in segments[:3]])
    assert not node_costs.grad.any() and not edge_costs.grad.any()


def test_registry_and_bad_arguments():
    layer = MODELS.build(
        dict(
            type='AMWCLayer',
            num_things_classes=1,
            num_stuff_classes=1,
            edge_distances=[1, 4]))
    assert isinstance(layer, AMWCLayer)
    with pytest.raises(ValueError, match='node_costs'):
        layer(torch.zeros(1, 3, 4, 4), torch.zeros(1, 2, 2, 4, 4))
    with pytest.raises(ValueError, match='edge_costs'):
        layer(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 2, 4, 4))
    with pytest.raises(ValueError, match='lambda_range'):
        AMWCLayer(1, 1, [1], lambda_range=(5., 1.))
    with pytest.raises(ValueError, match='edge_distances'):
        AMWCLayer(1, 1, [0])
    with pytest.raises(ValueError, match='num_samples'):
        AMWCLayer(1, 1, [1], num_samples=0)
    with pytest.raises(ValueError, match='baseline'):
        AMWCLayer(1, 1, [1], baseline='forward')
    with pytest.raises(ValueError, match='max_labels'):
        AMWCLayer(1, 1, [1], max_labels=0)
    with pytest.raises(ValueError, match='regions'):
        layer(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2, 4, 4),
              torch.zeros(1, 4, 3, dtype=torch.long))
