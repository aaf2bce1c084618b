"""Heads of COPS: output shapes, grid convention, AMWC costs, registry."""
import pytest
import torch

import projects.cops  # noqa: F401
from mmdet.registry import MODELS, TRANSFORMS
from projects.cops.models.heads import AMWCCostHead
from projects.cops.models.heads.affinity_head import (centred_differences,
                                                     centred_to_first_pixel)

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


def test_centred_differences_as_original():
    feats = torch.arange(12.).view(1, 1, 3, 4)
    pairs = centred_differences(feats, 2)
    assert pairs.shape == (1, 2, 3, 4)
    # vertical pair (0, x)-(2, x): partner - first = 8, centred at row 1
    assert pairs[0, 0].tolist() == [[0.] * 4, [8.] * 4, [0.] * 4]
    # horizontal pairs (y, 0)-(y, 2), (y, 1)-(y, 3) centred at columns 1, 2
    assert pairs[0, 1, :, 1:3].eq(2).all()
    assert pairs[0, 1, :, [0, 3]].eq(0).all()
    assert centred_differences(feats, 5).eq(0).all()
    # and back: the centred value lands on the first pixel of its pair
    first = centred_to_first_pixel(pairs, 2)
    assert first[0, 0].tolist() == [[8.] * 4, [0.] * 4, [0.] * 4]
    assert first[0, 1, :, :2].eq(2).all() and first[0, 1, :, 2:].eq(0).all()


def original_affinity_logits(features, classifier, distance):
    """The original ``PanopticAffinityInsEmbedHead.layers`` for one offset
    d > 1, written with its own padding (pairs centred at ``d // 2``)."""
    pad = distance // 2
    rows = torch.nn.ZeroPad2d((0, 0, pad, pad))(
        features[:, :, distance:] - features[:, :, :-distance])
    cols = torch.nn.ZeroPad2d((pad, pad, 0, 0))(
        features[..., distance:] - features[..., :-distance])
    return classifier(torch.cat((rows, cols), 1))


def test_affinity_classifier_matches_original_forward():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='COPSAffinityHead',
            decoder=DECODER,
            num_classes=5,
            edge_distances=(1, 2, 4),
            head_channels=8,
            classifier_channels=4)).eval()
    # 3x3 (8 -> 4) -> 3x3 (-> 2) -> 1x1 (-> 2) for d = 1; twice the
    # channels with 2 groups (one per direction) for d > 1
    assert head.classifiers[0][0].conv.weight.shape == (4, 8, 3, 3)
    assert head.classifiers[1][0].conv.weight.shape == (8, 8, 3, 3)
    assert head.classifiers[1][0].conv.groups == 2
    assert head.classifiers[1][1].conv.weight.shape == (4, 4, 3, 3)
    assert head.classifiers[1][2].weight.shape == (2, 4, 1, 1)
    feats = features(2, 10, 12)
    sem_logits = torch.randn(2, 5, 10, 12)
    ours = head(feats, sem_logits)
    x = head.convs(torch.cat([head.decoder(feats), sem_logits], dim=1))
    torch.testing.assert_close(ours[:, 0], head.classifiers[0](x))
    for k, distance in ((1, 2), (2, 4)):
        original = original_affinity_logits(x, head.classifiers[k], distance)
        pad = distance // 2
        # original target convention: pair (y, x)-(y + d, x) at row y + d/2
        torch.testing.assert_close(ours[:, k, 0, :10 - distance],
                                   original[:, 0, pad:pad + 10 - distance])
        torch.testing.assert_close(ours[:, k, 1, :, :12 - distance],
                                   original[:, 1, :, pad:pad + 12 - distance])
        assert ours[:, k, 0, 10 - distance:].eq(0).all()
        assert ours[:, k, 1, :, 12 - distance:].eq(0).all()


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


def test_cost_dropout_zeroes_whole_points_and_single_edges():
    torch.manual_seed(0)
    head = AMWCCostHead(
        num_edge_distances=2,
        node_scale=2.,
        node_bias=1.,
        edge_scale=3.,
        edge_bias=0.5,
        dropout_ratio=0.3)
    sem_logits = torch.rand(2, 4, 16, 16) + 1
    boundary_logits = torch.rand(2, 2, 2, 16, 16) + 1
    clean = [-2 * sem_logits + 1, -3 * boundary_logits + 0.5]
    node_costs, edge_costs = head(sem_logits, boundary_logits)
    # after the affine map (the bias is dropped too), no 1 / (1 - p)
    dropped = node_costs == 0
    assert (dropped.all(dim=1) == dropped.any(dim=1)).all()  # whole points
    assert 0.2 < dropped[:, 0].float().mean() < 0.4
    torch.testing.assert_close(node_costs[~dropped], clean[0][~dropped])
    dropped = edge_costs == 0
    assert 0.2 < dropped.float().mean() < 0.4
    torch.testing.assert_close(edge_costs[~dropped], clean[1][~dropped])
    # single edges: the two directions of one position differ somewhere
    assert (dropped[:, :, 0] != dropped[:, :, 1]).any()
    head.eval()
    node_costs, edge_costs = head(sem_logits, boundary_logits)
    torch.testing.assert_close(node_costs, clean[0])
    torch.testing.assert_close(edge_costs, clean[1])


def test_decoder_image_pooling_window():
    torch.manual_seed(0)
    x = torch.randn(2, IN_CHANNELS[2], 6, 8)
    decoder = MODELS.build(dict(DECODER, aspp_pool_kernel=(3, 4))).eval()
    # detectron2 ASPP with pool_kernel_size: average over a window with
    # stride 1, 1x1 conv with bias + ReLU (no norm), bilinear up-sampling
    conv = decoder.image_pool.conv
    expected = torch.nn.functional.interpolate(
        torch.relu(conv(torch.nn.functional.avg_pool2d(x, (3, 4), 1))),
        size=(6, 8),
        mode='bilinear',
        align_corners=False)
    torch.testing.assert_close(decoder.image_pooling(x), expected)
    assert decoder.image_pool.norm_cfg is None and conv.bias is not None
    # a window covering the whole feature (or larger: clipped) is global
    decoder.aspp_pool_kernel = (6, 8)
    global_pool = decoder.image_pooling(x)
    decoder.aspp_pool_kernel = (32, 64)
    torch.testing.assert_close(decoder.image_pooling(x), global_pool)
    decoder.aspp_pool_kernel = None
    torch.testing.assert_close(decoder.image_pooling(x), global_pool)
    assert not torch.allclose(global_pool, expected)
    with pytest.raises(ValueError, match='aspp_pool_kernel'):
        MODELS.build(dict(DECODER, aspp_pool_kernel=(0, 4)))


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
