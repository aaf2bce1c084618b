"""The AMWC layer's warm-started backward (``warm_start=True``): the
perturbed solves start from the forward solution."""
import torch
import torch.nn.functional as F
from test_amwc_layer import check_finite_difference, pixel_regions

from projects.cops.models.layers import AMWCLayer


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
    # 0.9988 at lambda in [10, 50]; at [1, 5] 0.89, where the cold solves'
    # disagreement with the forward solution (unperturbed, see
    # amwc_function) weighs most
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
    assert F.cosine_similarity(cold, warm, 0) > 0.99
