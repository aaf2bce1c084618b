"""Heads of COPS: output shapes, grid convention, AMWC costs, registry."""
import pytest
import torch

import projects.cops  # noqa: F401
from mmdet.registry import MODELS, TRANSFORMS
from projects.cops.models.heads import AMWCCostHead
from projects.cops.models.heads.affinity_head import shifted_differences

IN_CHANNELS = (8, 16, 32)
DECODER = dict(
    type='DeepLabV3PlusDecoder',
    in_channels=IN_CHANNELS,
    aspp_channels=16,
    aspp_dilations=(2, 3),
    project_channels=(4, 8),
    decoder_channels=16)


def features(batch, height, width):
    """Fake (res2, res3, res5) for an image of 4*height x 4*width."""
    half = ((height + 1) // 2, (width + 1) // 2)
    return (torch.randn(batch, IN_CHANNELS[0], height,
                        width), torch.randn(batch, IN_CHANNELS[1], *half),
            torch.randn(batch, IN_CHANNELS[2], (half[0] + 1) // 2,
                        (half[1] + 1) // 2))


@pytest.mark.parametrize('height, width', [(9, 13), (7, 5)])
def test_head_shapes_for_odd_sizes(height, width):
    feats = features(2, height, width)
    semantic = MODELS.build(
        dict(
            type='COPSSemanticHead',
            decoder=DECODER,
            num_classes=5,
            head_channels=8))
    affinity = MODELS.build(
        dict(
            type='COPSAffinityHead',
            decoder=DECODER,
            num_classes=5,
            edge_distances=(1, 3, 16),
            head_channels=8,
            classifier_channels=4))
    sem_logits = semantic(feats)
    assert sem_logits.shape == (2, 5, height, width)
    boundary_logits = affinity(feats, sem_logits)
    assert boundary_logits.shape == (2, 3, 2, height, width)
    # the boundary loss must not train the semantic head
    affinity.loss(
        boundary_logits,
        dict(
            boundary=torch.ones_like(boundary_logits),
            boundary_weights=torch.ones_like(
                boundary_logits)))['loss_boundary'].backward()
    assert all(p.grad is None for p in semantic.parameters())


def test_shifted_differences_follow_grid_convention():
    feats = torch.arange(12.).view(1, 1, 3, 4)
    pairs = shifted_differences(feats, 2)
    assert pairs.shape == (1, 2, 1, 3, 4)
    # vertical pair (0, x)-(2, x) stored at row 0; rows 1, 2 have no partner
    assert pairs[0, 0, 0].tolist() == [[-8.] * 4, [0.] * 4, [0.] * 4]
    # horizontal pair (y, x)-(y, x + 2) stored at columns 0, 1
    assert pairs[0, 1, 0, :, :2].eq(-2).all()
    assert pairs[0, 1, 0, :, 2:].eq(0).all()
    assert shifted_differences(feats, 5).eq(0).all()


def test_cost_head():
    head = AMWCCostHead(
        num_edge_distances=2,
        node_scale=2.,
        node_bias=1.,
        edge_scale=-3.,
        edge_bias=0.5)
    sem_logits = torch.randn(1, 4, 3, 3)
    boundary_logits = torch.randn(1, 2, 2, 3, 3)
    node_costs, edge_costs = head(sem_logits, boundary_logits)
    torch.testing.assert_close(node_costs, -2 * sem_logits + 1)
    # |a_d| keeps "high boundary logit -> negative (cut) cost"
    torch.testing.assert_close(edge_costs, -3 * boundary_logits + 0.5)
    (node_costs.sum() + edge_costs.sum()).backward()
    assert head.edge_scales.grad.shape == (2, )
    with pytest.raises(ValueError, match='boundary_logits'):
        head(sem_logits, boundary_logits[:, :1])


def test_cost_head_dropout_only_in_training():
    head = AMWCCostHead(num_edge_distances=1, dropout_ratio=0.5)
    sem_logits = torch.ones(1, 3, 8, 8)
    boundary_logits = torch.ones(1, 1, 2, 8, 8)
    node_costs, _ = head(sem_logits, boundary_logits)
    assert (node_costs == 0).any()
    head.eval()
    node_costs, _ = head(sem_logits, boundary_logits)
    assert (node_costs == -1).all()


def test_decoder_rejects_mismatched_projections():
    with pytest.raises(ValueError, match='project_channels'):
        MODELS.build(dict(DECODER, project_channels=(4, )))


@pytest.mark.parametrize('registry, name', [
    (MODELS, 'COPS'),
    (MODELS, 'COPSSemanticHead'),
    (MODELS, 'COPSAffinityHead'),
    (MODELS, 'AMWCCostHead'),
    (MODELS, 'DeepLabV3PlusDecoder'),
    (MODELS, 'HardPixelCELoss'),
    (MODELS, 'TopKBoundaryBCELoss'),
    (TRANSFORMS, 'GenerateCOPSTargets'),
    (TRANSFORMS, 'PackCOPSInputs'),
])
def test_registered_names_resolve(registry, name):
    assert registry.get(name) is not None
