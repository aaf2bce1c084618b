"""The r50 heads match the original COPS parameter for parameter.

The expected names and shapes are those of the authors' detectron2 model
(``PanopticAffinity``: ``sem_seg_head``, ``AFF_EMBED_head``, ``amwc_layer``;
decoders from detectron2's ``DeepLabV3PlusHead`` with depthwise-separable
convs), written out from its constructor arguments in the original yaml
configs, with the name each maps to here (docs/faithfulness.md, "Parameter
correspondence"). Buffers of the norms (``running_mean``, ...) follow their
weights.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import projects.cops  # noqa: F401
from mmdet.registry import MODELS

NORM = ('weight', 'bias', 'running_mean', 'running_var')


def _norm(original, ours, channels):
    return {
        f'{original}.norm.{key}': (f'{ours}.bn.{key}', (channels, ))
        for key in NORM
    }


def _conv_bn(original, ours, shape):
    return {
        f'{original}.weight': (f'{ours}.conv.weight', shape),
        **_norm(original, ours, shape[0])
    }


def _separable(original, ours, in_channels, out_channels, kernel):
    return {
        **_conv_bn(f'{original}.depthwise', f'{ours}.depthwise_conv',
                   (in_channels, 1, kernel, kernel)),
        **_conv_bn(f'{original}.pointwise', f'{ours}.pointwise_conv',
                   (out_channels, in_channels, 1, 1)),
    }


def _decoder(original, ours):
    """detectron2 ``DeepLabV3PlusHead`` (COPS yaml: ASPP 256, rates
    6/12/18, projections res3 64, res2 32, decoder 256)."""
    aspp = f'{original}.decoder.res5.project_conv'
    names = {
        **_conv_bn(f'{aspp}.convs.0', f'{ours}.aspp.0', (256, 2048, 1, 1)),
        f'{aspp}.convs.4.1.weight':
        (f'{ours}.image_pool.conv.weight', (256, 2048, 1, 1)),
        f'{aspp}.convs.4.1.bias': (f'{ours}.image_pool.conv.bias', (256, )),
        **_conv_bn(f'{aspp}.project', f'{ours}.aspp_project.0',
                   (256, 5 * 256, 1, 1)),
    }
    for i in (1, 2, 3):
        names.update(
            _separable(f'{aspp}.convs.{i}', f'{ours}.aspp.{i}', 2048, 256, 3))
    for i, (stage, in_channels, project) in enumerate([('res3', 512, 64),
                                                       ('res2', 256, 32)]):
        names.update(
            _conv_bn(f'{original}.decoder.{stage}.project_conv',
                     f'{ours}.skip_projections.{i}',
                     (project, in_channels, 1, 1)))
        names.update(
            _separable(f'{original}.decoder.{stage}.fuse_conv',
                       f'{ours}.fusions.{i}', project + 256, 256, 5))
    return names


def original_parameters(num_classes, num_distances):
    """``{original name: (name here, shape)}`` of the r50 heads and costs."""
    names = {}
    names.update(_decoder('sem_seg_head', 'semantic_head.decoder'))
    for i in (0, 1):
        names.update(
            _conv_bn(f'sem_seg_head.head.{i}', f'semantic_head.convs.{i}',
                     (256, 256, 3, 3)))
    names['sem_seg_head.predictor.weight'] = ('semantic_head.conv_seg.weight',
                                              (num_classes, 256, 1, 1))
    names['sem_seg_head.predictor.bias'] = ('semantic_head.conv_seg.bias',
                                            (num_classes, ))
    names.update(_decoder('AFF_EMBED_head', 'affinity_head.decoder'))
    names.update(
        _conv_bn('AFF_EMBED_head.affinity_head.0', 'affinity_head.convs.0',
                 (256, 256 + num_classes, 3, 3)))
    names.update(
        _conv_bn('AFF_EMBED_head.affinity_head.1', 'affinity_head.convs.1',
                 (256, 256, 3, 3)))
    for k in range(num_distances):
        groups = 1 if k == 0 else 2  # offset 1 first in every config
        original = f'AFF_EMBED_head.classifiers.{k}'
        ours = f'affinity_head.classifiers.{k}'
        # grouped convs: weight [out, in / groups, 3, 3]
        names.update(
            _conv_bn(f'{original}.0', f'{ours}.0',
                     (groups * 64, 256, 3, 3)))
        names.update(
            _conv_bn(f'{original}.1', f'{ours}.1', (groups * 32, 64, 3, 3)))
        names[f'{original}.2.weight'] = (f'{ours}.2.weight',
                                         (2, groups * 32, 1, 1))
        names[f'{original}.2.bias'] = (f'{ours}.2.bias', (2, ))
    # the original's cost scalars are [1]-shaped parameters, one per map
    names['amwc_layer.seg_cost_weights.0'] = ('cost_head.node_scale', ())
    names['amwc_layer.seg_cost_weights.1'] = ('cost_head.node_bias', ())
    for k in range(num_distances):
        names[f'amwc_layer.edge_costs_weights.{2 * k}'] = (
            f'cost_head.edge_scales[{k}]', ())
        names[f'amwc_layer.edge_costs_weights.{2 * k + 1}'] = (
            f'cost_head.edge_biases[{k}]', ())
    return names


@pytest.mark.parametrize('config, num_classes, num_distances', [
    ('configs/cops_r50_cityscapes_pretrain.py', 19, 5),
    ('configs/cops_r50_coco_pretrain.py', 133, 4),
])
def test_r50_heads_match_original_parameters(config, num_classes,
                                             num_distances):
    init_default_scope('mmdet')
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN needs DDP
    for head in ('semantic_head', 'affinity_head'):
        cfg.model[head].norm_cfg = norm_cfg
        cfg.model[head].decoder.norm_cfg = norm_cfg
    model = MODELS.build(cfg.model)
    state = {
        name: value
        for name, value in model.state_dict().items()
        if not name.startswith('backbone.')
        and not name.endswith('num_batches_tracked')
    }
    expected = original_parameters(num_classes, num_distances)
    ours = {}
    for name, shape in expected.values():
        if '[' in name:  # one entry of a per-offset vector
            name, index = name[:-1].split('[')
            assert int(index) < state[name].numel()
            ours[name] = (state[name].numel(), )
        else:
            assert tuple(state[name].shape) == shape, name
            ours[name] = shape
    assert set(ours) == set(state)
    total_original = sum(
        torch.Size(shape).numel() or 1 for _, shape in expected.values())
    assert total_original == sum(value.numel() for value in state.values())


@pytest.mark.parametrize('config', [
    'configs/cops_r50_cityscapes_pretrain.py',
    'configs/cops_r50_cityscapes.py', 'configs/cops_r50_coco_pretrain.py',
    'configs/cops_r50_coco.py'
])
def test_r50_aspp_pools_over_the_training_crop(config):
    # detectron2's DeepLabV3PlusHead: pool_kernel_size = train_size / 16
    cfg = Config.fromfile(config)
    crop = next(t for t in cfg.train_pipeline
                if t.type == 'RandomCrop').crop_size  # (width, height)
    for head in ('semantic_head', 'affinity_head'):
        assert tuple(cfg.model[head].decoder.aspp_pool_kernel) == (
            crop[1] // 16, crop[0] // 16)
