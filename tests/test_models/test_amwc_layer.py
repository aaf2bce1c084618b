"""AMWC layer: panoptic masks forward, perturbed-MWC gradients backward."""
import pytest
import torch

from mmdet.registry import MODELS
from projects.cops.models.layers import AMWCLayer
from projects.cops.models.layers.amwc_function import (
    extended_labels, panoptic_masks_from_solution)


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
    masks, classes, valid = layer(costs_for(class_map, 3), edges)
    assert classes.tolist() == [[1, 0, 0]]
    assert valid.all()
    assert masks.dtype == torch.float32 and masks.shape == (1, 3, 6, 6)
    assert torch.equal(masks[0, 0].bool(), class_map == 1)
    top, bottom = torch.zeros(2, 6, 6, dtype=torch.bool)
    top[:3, 3:] = True
    bottom[3:, 3:] = True
    assert {tuple(m.flatten().tolist())
            for m in masks[0, 1:].bool()} == {
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
    masks, classes, valid = AMWCLayer(1, 2, [1])(node_costs, edges)
    assert classes.tolist() == [[1, 2], [0, 0]]
    assert valid.all()
    assert masks.sum((2, 3)).tolist() == [[8., 8.], [8., 8.]]
    edges[1] = 1
    masks, classes, valid = AMWCLayer(1, 2, [1])(node_costs, edges)
    assert classes.tolist() == [[1, 2], [0, -1]]
    assert valid.tolist() == [[True, True], [True, False]]
    assert masks[1, 1].sum() == 0


def test_small_instances_are_dropped():
    labels = torch.tensor([[0, 0, 0, 1, 0]])
    clusters = torch.tensor([[5, 5, 5, 0, 7]])
    masks, classes, valid = panoptic_masks_from_solution(
        labels, clusters, torch.tensor([True, False]), min_instance_area=2)
    assert classes.tolist() == [[1, 0]]
    assert masks.tolist() == [[[0, 0, 0, 1, 0], [1, 1, 1, 0, 0]]]


def test_extended_labels_keep_plain_thing_and_absent_stuff_classes():
    partitionable = torch.tensor([True, True, False, False])
    labels = extended_labels(torch.tensor([2, 0, 0]), partitionable)
    assert labels.tolist() == [2, 0, 0, 0, 1, 3]


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
    layer = AMWCLayer(0, 2, [1], lambda_range=(10., 10.), num_samples=2)
    masks, classes, _ = layer(node_costs, edge_costs)
    assert classes.tolist() == [[0]]
    grad = torch.zeros_like(masks)
    grad[0, 0, 0, 3] = 1
    masks.backward(grad)
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
    # and that difference / lambda (here 1000 x) swamped the gradient.
    torch.manual_seed(0)
    node_costs = (2 * torch.randn(4, 4, 16, 16)).requires_grad_()
    edge_costs = (torch.randn(4, 2, 2, 16, 16) + 0.5).requires_grad_()
    layer = AMWCLayer(2, 2, [1, 3], lambda_range=(1e-3, 1e-3), num_samples=2)
    masks, _, _ = layer(node_costs, edge_costs)
    masks.backward(1e-3 * torch.randn_like(masks))
    assert not node_costs.grad.any() and not edge_costs.grad.any()


def test_zero_incoming_gradient_gives_zero_gradient():
    torch.manual_seed(0)
    node_costs = torch.randn(2, 3, 5, 5, requires_grad=True)
    edge_costs = torch.randn(2, 2, 2, 5, 5, requires_grad=True)
    masks, _, _ = AMWCLayer(1, 2, [1, 2])(node_costs, edge_costs)
    masks.backward(torch.zeros_like(masks))
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
