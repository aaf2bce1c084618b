"""The heads are initialised as the original COPS heads (detectron2)."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import projects.cops  # noqa: F401
from mmdet.registry import MODELS


@pytest.fixture(scope='module')
def model():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg = Config.fromfile('configs/cops_r18_synthetic_pretrain.py')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def assert_c2_xavier(conv):
    """Kaiming-uniform, a = 1, fan-in: U(-b, b) with b = sqrt(3 / fan_in)."""
    weight = conv.weight.detach()
    bound = math.sqrt(3 / weight[0].numel())
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.9 * bound
    assert weight.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    assert conv.bias is None or not conv.bias.any()


def test_heads_are_initialised_as_the_original(model):
    for head in (model.semantic_head, model.affinity_head):
        decoder = head.decoder
        for module in (decoder.aspp[0], decoder.image_pool,
                       decoder.aspp_project[0], *decoder.skip_projections,
                       *head.convs):
            assert_c2_xavier(module.conv)
        # depthwise-separable convs: c2_msra_fill = mmcv's default,
        # Kaiming-normal over the fan-out
        pointwise = decoder.fusions[0].pointwise_conv.conv.weight.detach()
        fan_out = pointwise.shape[0]
        assert pointwise.std() == pytest.approx(
            math.sqrt(2 / fan_out), rel=0.15)
    for classifier in model.affinity_head.classifiers:
        assert_c2_xavier(classifier[0].conv)
        assert_c2_xavier(classifier[1].conv)
        assert_c2_xavier(classifier[2])
    predictor = model.semantic_head.conv_seg
    assert predictor.weight.detach().std() == pytest.approx(0.001, rel=0.15)
    assert not predictor.bias.any()


def test_init_cfg_and_second_calls_are_respected():
    cfg = Config.fromfile('configs/cops_r18_synthetic_pretrain.py')
    head = MODELS.build(
        dict(
            cfg.model.semantic_head,
            init_cfg=dict(type='Constant', layer='Conv2d', val=0.5)))
    head.init_weights()
    assert (head.conv_seg.weight == 0.5).all()
    assert (head.convs[0].conv.weight == 0.5).all()
    weight = head.decoder.image_pool.conv.weight.clone()
    head.decoder.init_weights()
    assert torch.equal(head.decoder.image_pool.conv.weight, weight)
