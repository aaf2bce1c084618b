"""tools/model_converters/detectron2_cops_to_mmdet.py on fabricated
checkpoints with exactly the key names and shapes of the authors' released
COPS models; the converted weights load strictly into the r50 configs'
models.
"""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmdet.datasets import CocoPanopticDataset
from mmdet.registry import MODELS
from projects.cops.datasets import CityscapesPanopticDataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTERS = osp.join(REPO, 'tools/model_converters')
CITYSCAPES = osp.join(REPO, 'configs/cops_r50_cityscapes.py')
COCO = osp.join(REPO, 'configs/cops_r50_coco.py')


def load_script():
    sys.path.insert(0, CONVERTERS)  # as when run: its folder on the path
    spec = importlib.util.spec_from_file_location(
        'cops_converter', osp.join(CONVERTERS, 'detectron2_cops_to_mmdet.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = load_script()

# ---------------------------------------------------------------------------
# The original model's weights, written out from its code (github
# aabbas90/COPS, detectron2 fork aabbas90/detectron2):
# - PanopticAffinity: backbone, sem_seg_head, AFF_EMBED_head, amwc_layer and
#   the buffers pixel_mean / pixel_std [3, 1, 1];
# - backbone (projects/DeepLab resnet.py, yaml: STEM_OUT_CHANNELS 128, depth
#   50): stem.conv1/2/3 (3 -> 64 -> 64 -> 128, 3x3), res2..res5 of 3/4/6/3
#   BottleneckBlocks (conv1 1x1, conv2 3x3, conv3 1x1, shortcut 1x1 on the
#   first block); every conv has a norm and no bias;
# - both heads subclass DeepLabV3PlusHead (decoder only; in_features res2,
#   res3, res5; PROJECT_CHANNELS 32, 64; ASPP and decoder 256;
#   USE_DEPTHWISE_SEPARABLE_CONV True): decoder.res5.project_conv is ASPP
#   (convs.0 1x1; convs.1-3 DepthwiseSeparableConv2d 3x3 with depthwise /
#   pointwise, each normed; convs.4 = [pool, 1x1 conv with bias, no norm];
#   project 1x1 over 5 x 256); decoder.res3 / res2: project_conv 1x1 and
#   fuse_conv DepthwiseSeparableConv2d 5x5 over (projected skip + 256);
# - sem_seg_head.head.0/1 3x3 256 -> 256, predictor 1x1 -> C with bias;
# - AFF_EMBED_head.affinity_head.0 3x3 (256 + C) -> 256, .1 3x3 256 -> 256;
#   classifiers.k for offset d_k: f = 1 if d_k == 1 else 2 groups;
#   .0 3x3 256f -> 64f (groups f), .1 3x3 64f -> 32f (groups f), .2 1x1
#   32f -> 2 with bias (not grouped);
# - amwc_layer: seg_cost_weights.0/1 and edge_costs_weights.0..2D-1, each a
#   [1] parameter; training_per_class_areas [C] (instance area for things,
#   stuff area otherwise, detectron2's contiguous class order).
# Norms are BN / SyncBN (weight, bias, running_mean, running_var,
# num_batches_tracked) or, after stage 2 (FREEZE_BN), FrozenBatchNorm2d
# without num_batches_tracked.
# ---------------------------------------------------------------------------


def conv(spec, name, shape, norm=True, bias=False):
    spec[f'{name}.weight'] = shape
    if bias:
        spec[f'{name}.bias'] = (shape[0], )
    if norm:
        for param in ('weight', 'bias', 'running_mean', 'running_var'):
            spec[f'{name}.norm.{param}'] = (shape[0], )
        spec[f'{name}.norm.num_batches_tracked'] = ()


def separable(spec, name, cin, cout, kernel):
    conv(spec, f'{name}.depthwise', (cin, 1, kernel, kernel))
    conv(spec, f'{name}.pointwise', (cout, cin, 1, 1))


def original_spec(num_classes, edge_distances):
    """``{key: shape}`` of an original r50 COPS checkpoint's model."""
    spec = {}
    conv(spec, 'backbone.stem.conv1', (64, 3, 3, 3))
    conv(spec, 'backbone.stem.conv2', (64, 64, 3, 3))
    conv(spec, 'backbone.stem.conv3', (128, 64, 3, 3))
    cin = 128
    for stage, blocks in zip((2, 3, 4, 5), (3, 4, 6, 3)):
        mid = 64 * 2**(stage - 2)
        for b in range(blocks):
            prefix = f'backbone.res{stage}.{b}'
            if b == 0:
                conv(spec, f'{prefix}.shortcut', (4 * mid, cin, 1, 1))
            conv(spec, f'{prefix}.conv1', (mid, cin, 1, 1))
            conv(spec, f'{prefix}.conv2', (mid, mid, 3, 3))
            conv(spec, f'{prefix}.conv3', (4 * mid, mid, 1, 1))
            cin = 4 * mid
    for head in ('sem_seg_head', 'AFF_EMBED_head'):
        aspp = f'{head}.decoder.res5.project_conv'
        conv(spec, f'{aspp}.convs.0', (256, 2048, 1, 1))
        for i in (1, 2, 3):
            separable(spec, f'{aspp}.convs.{i}', 2048, 256, 3)
        conv(spec, f'{aspp}.convs.4.1', (256, 2048, 1, 1), False, True)
        conv(spec, f'{aspp}.project', (256, 5 * 256, 1, 1))
        for stage, skip_in, skip_out in (('res3', 512, 64), ('res2', 256,
                                                              32)):
            conv(spec, f'{head}.decoder.{stage}.project_conv',
                 (skip_out, skip_in, 1, 1))
            separable(spec, f'{head}.decoder.{stage}.fuse_conv',
                      skip_out + 256, 256, 5)
    conv(spec, 'sem_seg_head.head.0', (256, 256, 3, 3))
    conv(spec, 'sem_seg_head.head.1', (256, 256, 3, 3))
    conv(spec, 'sem_seg_head.predictor', (num_classes, 256, 1, 1), False,
         True)
    conv(spec, 'AFF_EMBED_head.affinity_head.0',
         (256, 256 + num_classes, 3, 3))
    conv(spec, 'AFF_EMBED_head.affinity_head.1', (256, 256, 3, 3))
    for k, distance in enumerate(edge_distances):
        f = 1 if distance == 1 else 2
        name = f'AFF_EMBED_head.classifiers.{k}'
        conv(spec, f'{name}.0', (64 * f, 256, 3, 3))
        conv(spec, f'{name}.1', (32 * f, 64, 3, 3))
        conv(spec, f'{name}.2', (2, 32 * f, 1, 1), False, True)
    spec['amwc_layer.seg_cost_weights.0'] = (1, )
    spec['amwc_layer.seg_cost_weights.1'] = (1, )
    for i in range(2 * len(edge_distances)):
        spec[f'amwc_layer.edge_costs_weights.{i}'] = (1, )
    spec['amwc_layer.training_per_class_areas'] = (num_classes, )
    spec['pixel_mean'] = (3, 1, 1)
    spec['pixel_std'] = (3, 1, 1)
    return spec


def fabricate(num_classes, edge_distances, thing_ids, stuff_area,
              frozen_bn=False, seed=0):
    """Random original weights (convs scaled by 1 / sqrt(fan-in), so
    activations stay finite); ``thing_ids`` in detectron2's order."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in original_spec(num_classes, edge_distances).items():
        if key.endswith('num_batches_tracked'):
            if not frozen_bn:
                state[key] = torch.tensor(1000)
        elif len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=gen) / fan_in**0.5
        elif key.endswith(('norm.weight', 'running_var')):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = 0.1 * torch.randn(shape, generator=gen)
    areas = torch.full((num_classes, ), float(stuff_area))
    areas[list(thing_ids)] = 200.
    state['amwc_layer.training_per_class_areas'] = areas
    state['pixel_mean'] = torch.tensor([123.675, 116.28,
                                        103.53]).view(3, 1, 1)
    state['pixel_std'] = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    return state


def build(config):
    init_default_scope('mmdet')
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


CITYSCAPES_THINGS = range(11, 19)  # person .. bicycle in trainId order
CITYSCAPES_CLASSES = CityscapesPanopticDataset.METAINFO['classes']
# this project's order: things (person .. bicycle), then stuff (road .. sky)
CITYSCAPES_PERM = [*range(11, 19), *range(0, 11)]


@pytest.fixture(scope='module')
def cityscapes_model():
    return build(CITYSCAPES)


def convert(state, model, source='released.pth'):
    """Convert for the Cityscapes config's model."""
    preprocessor = model.data_preprocessor
    return converter.convert_cops(state, model.state_dict(),
                                  CITYSCAPES_CLASSES,
                                  model.num_things_classes,
                                  preprocessor.mean.flatten().tolist(),
                                  preprocessor.std.flatten().tolist(), source)


@pytest.mark.parametrize('frozen_bn', [False, True])
def test_cityscapes_release_loads_strictly(cityscapes_model, frozen_bn):
    src = fabricate(19, (1, 4, 16, 32, 64), CITYSCAPES_THINGS, 2048,
                    frozen_bn)
    state = convert(src, cityscapes_model)
    cityscapes_model.load_state_dict(state, strict=True)
    ours = cityscapes_model.state_dict()

    # renamed tensors keep their values (BN statistics unchanged: the
    # authors' FrozenBN adds eps in its forward as torch's BN does)
    pairs = {
        'backbone.stem.conv3.norm.running_var': 'backbone.stem.7.running_var',
        'backbone.res5.2.conv2.weight': 'backbone.layer4.2.conv2.weight',
        'AFF_EMBED_head.decoder.res5.project_conv.convs.4.1.bias':
        'affinity_head.decoder.image_pool.conv.bias',
        'sem_seg_head.decoder.res5.project_conv.project.weight':
        'semantic_head.decoder.aspp_project.0.conv.weight',
        'sem_seg_head.decoder.res2.fuse_conv.depthwise.norm.bias':
        'semantic_head.decoder.fusions.1.depthwise_conv.bn.bias',
        'AFF_EMBED_head.decoder.res3.project_conv.weight':
        'affinity_head.decoder.skip_projections.0.conv.weight',
        'AFF_EMBED_head.classifiers.3.1.norm.running_mean':
        'affinity_head.classifiers.3.1.bn.running_mean',
        'AFF_EMBED_head.classifiers.4.2.weight':
        'affinity_head.classifiers.4.2.weight',
        'sem_seg_head.head.1.norm.weight': 'semantic_head.convs.1.bn.weight',
    }
    for original, name in pairs.items():
        torch.testing.assert_close(ours[name], src[original], rtol=0, atol=0)
    expected_batches = 0 if frozen_bn else 1000
    assert int(ours['backbone.stem.1.num_batches_tracked']) == (
        expected_batches)

    # class order: things first
    perm = torch.tensor(CITYSCAPES_PERM)
    torch.testing.assert_close(ours['semantic_head.conv_seg.weight'],
                               src['sem_seg_head.predictor.weight'][perm])
    torch.testing.assert_close(ours['semantic_head.conv_seg.bias'],
                               src['sem_seg_head.predictor.bias'][perm])
    weight = src['AFF_EMBED_head.affinity_head.0.weight']
    torch.testing.assert_close(
        ours['affinity_head.convs.0.conv.weight'],
        torch.cat([weight[:, :256], weight[:, 256 + perm]], dim=1))

    # cost scalars
    assert float(ours['cost_head.node_scale']) == float(
        src['amwc_layer.seg_cost_weights.0'])
    assert float(ours['cost_head.node_bias']) == float(
        src['amwc_layer.seg_cost_weights.1'])
    edge = torch.cat(
        [src[f'amwc_layer.edge_costs_weights.{i}'] for i in range(10)])
    torch.testing.assert_close(ours['cost_head.edge_scales'], edge[0::2])
    torch.testing.assert_close(ours['cost_head.edge_biases'], edge[1::2])


def test_class_permutation_of_a_hand_made_classifier(cityscapes_model):
    """Predictor row j and class-logit input channel j of the original hold
    the value j: after conversion class i (this project) holds the
    original index of its name."""
    src = fabricate(19, (1, 4, 16, 32, 64), CITYSCAPES_THINGS, 2048)
    rows = torch.arange(19.)
    src['sem_seg_head.predictor.bias'] = rows
    src['sem_seg_head.predictor.weight'] = rows.view(19, 1, 1, 1).expand(
        19, 256, 1, 1).clone()
    src['AFF_EMBED_head.affinity_head.0.weight'][:, 256:] = rows.view(
        1, 19, 1, 1)
    state = convert(src, cityscapes_model)
    expected = torch.tensor([
        converter.CITYSCAPES_ORIGINAL_CLASSES.index(name)
        for name in CITYSCAPES_CLASSES
    ]).float()
    assert expected.tolist() == [float(i) for i in CITYSCAPES_PERM]
    torch.testing.assert_close(state['semantic_head.conv_seg.bias'], expected)
    torch.testing.assert_close(
        state['semantic_head.conv_seg.weight'][:, 7, 0, 0], expected)
    torch.testing.assert_close(
        state['affinity_head.convs.0.conv.weight'][3, 256:, 1, 2], expected)


def test_coco_release_keeps_class_order():
    """COCO: detectron2 and mmdet both order things, then stuff, by
    category id; 4 offsets, SyncBN in the config."""
    model = build(COCO)
    src = fabricate(133, (1, 4, 16, 32), range(80), 4096)
    preprocessor = model.data_preprocessor
    classes = CocoPanopticDataset.METAINFO['classes']
    state = converter.convert_cops(src, model.state_dict(), classes, 80,
                                   preprocessor.mean.flatten().tolist(),
                                   preprocessor.std.flatten().tolist(),
                                   'coco.pkl')
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(state['semantic_head.conv_seg.weight'],
                               src['sem_seg_head.predictor.weight'])


def test_cli_writes_checkpoint_tools_load_strictly(tmp_path, monkeypatch,
                                                   cityscapes_model):
    """The documented command: a detectron2 .pth (weights under 'model')
    -> a checkpoint mmengine loads strictly, with the dataset's classes in
    its meta (mmdet's init_detector reads them)."""
    src = fabricate(19, (1, 4, 16, 32, 64), CITYSCAPES_THINGS, 2048, True)
    src_file = str(tmp_path / 'model_final.pth')
    torch.save(dict(model=src, iteration=20000), src_file)
    dst = str(tmp_path / 'converted/cops_r50_cityscapes.pth')
    monkeypatch.setattr(sys, 'argv', ['convert', CITYSCAPES, src_file, dst])
    converter.main()
    checkpoint = load_checkpoint(
        cityscapes_model, dst, map_location='cpu', strict=True)
    assert checkpoint['meta']['dataset_meta']['classes'] == (
        CITYSCAPES_CLASSES)
    torch.testing.assert_close(
        cityscapes_model.state_dict()['backbone.layer1.0.downsample.0.weight'],
        src['backbone.res2.0.shortcut.weight'])


def test_unexpected_files_name_file_and_keys(cityscapes_model, tmp_path):
    base = fabricate(19, (1, 4, 16, 32, 64), CITYSCAPES_THINGS, 2048)

    # a file that is no checkpoint
    text = tmp_path / 'model.pth'
    text.write_text('<html>OneDrive sign-in page</html>')
    with pytest.raises(ValueError, match='model.pth: not a detectron2'):
        converter.load_detectron2_state(str(text))

    # another network (e.g. the ImageNet backbone alone)
    backbone_only = {k: v for k, v in base.items() if k.startswith('backbone')}
    with pytest.raises(ValueError, match='x.pth: not a COPS .* missing keys'):
        convert(backbone_only, cityscapes_model, 'x.pth')

    # missing and unknown keys
    src = dict(base)
    del src['AFF_EMBED_head.classifiers.2.1.weight']
    src['AFF_EMBED_head.center_head.0.weight'] = torch.zeros(1)
    with pytest.raises(ValueError) as error:
        convert(src, cityscapes_model, 'x.pth')
    message = str(error.value)
    assert message.startswith('x.pth: ')
    assert ('keys without a counterpart: AFF_EMBED_head.center_head.0.weight'
            in message)
    assert 'missing keys: affinity_head.classifiers.2.1.conv.weight' in message

    # another class count (the COCO model against the Cityscapes config)
    coco = fabricate(133, (1, 4, 16, 32), range(80), 4096)
    with pytest.raises(ValueError, match='coco.pth: sem_seg_head.predictor'
                       r'.weight has 133 classes, the config 19'):
        convert(coco, cityscapes_model, 'coco.pth')

    # other offsets: one classifier and its two cost scalars fewer
    four = fabricate(19, (1, 4, 16, 32), CITYSCAPES_THINGS, 2048)
    with pytest.raises(ValueError, match='x.pth: missing keys: '
                       'affinity_head.classifiers.4.0.bn.bias'):
        convert(four, cityscapes_model, 'x.pth')

    # things / stuff of another order (e.g. trained with things first)
    swapped = fabricate(19, (1, 4, 16, 32, 64), range(8), 2048)
    with pytest.raises(ValueError, match='x.pth: amwc_layer.training_per_'
                       'class_areas'):
        convert(swapped, cityscapes_model, 'x.pth')

    # a cost scalar missing: scales and biases would pair up wrongly
    src = dict(base)
    del src['amwc_layer.edge_costs_weights.3']
    with pytest.raises(ValueError, match=r'x.pth: expected amwc_layer.*'
                       r'edge_costs_weights \[0, 1, 2, 4, 5'):
        convert(src, cityscapes_model, 'x.pth')

    # other input normalisation
    src = dict(base)
    src['pixel_std'] = torch.ones(3, 1, 1)
    with pytest.raises(ValueError, match='x.pth: pixel_std'):
        convert(src, cityscapes_model, 'x.pth')


# ---------------------------------------------------------------------------
# The original heads' forward in plain torch (eval mode), read from the
# original code: DeepLabV3PlusHead.layers + ASPP.forward (detectron2 fork),
# PanopticAffinitySemSegHead.layers, PanopticAffinityInsEmbedHead.layers.
# ---------------------------------------------------------------------------


def run_conv(weights, name, x, relu=True, **kwargs):
    """detectron2 Conv2d: conv (+ bias), then its norm, then ReLU."""
    x = F.conv2d(x, weights[f'{name}.weight'], weights.get(f'{name}.bias'),
                 **kwargs)
    if f'{name}.norm.weight' in weights:
        x = F.batch_norm(x, weights[f'{name}.norm.running_mean'],
                         weights[f'{name}.norm.running_var'],
                         weights[f'{name}.norm.weight'],
                         weights[f'{name}.norm.bias'], False, 0., 1e-5)
    return F.relu(x) if relu else x


def run_separable(weights, name, x, kernel, dilation=1):
    channels = x.shape[1]
    x = run_conv(weights, f'{name}.depthwise', x,
                  padding=dilation * (kernel // 2), dilation=dilation,
                  groups=channels)
    return run_conv(weights, f'{name}.pointwise', x)


def original_decoder(weights, head, feats, pool_kernel):
    res2, res3, res5 = feats
    aspp = f'{head}.decoder.res5.project_conv'
    branches = [run_conv(weights, f'{aspp}.convs.0', res5)]
    for i, rate in zip((1, 2, 3), (6, 12, 18)):
        branches.append(
            run_separable(weights, f'{aspp}.convs.{i}', res5, 3, rate))
    pooled = F.avg_pool2d(res5, pool_kernel, stride=1)
    pooled = run_conv(weights, f'{aspp}.convs.4.1', pooled)
    branches.append(
        F.interpolate(
            pooled, size=res5.shape[2:], mode='bilinear',
            align_corners=False))
    y = run_conv(weights, f'{aspp}.project', torch.cat(branches, dim=1))
    for stage, skip in (('res3', res3), ('res2', res2)):
        proj = run_conv(weights, f'{head}.decoder.{stage}.project_conv',
                         skip)
        y = F.interpolate(
            y, size=proj.shape[2:], mode='bilinear', align_corners=False)
        y = run_separable(weights, f'{head}.decoder.{stage}.fuse_conv',
                      torch.cat([proj, y], dim=1), 5)
    return y


def original_heads(weights, feats, edge_distances, pool_kernel):
    """Semantic logits and the per-offset affinity logits (centred)."""
    y = original_decoder(weights, 'sem_seg_head', feats, pool_kernel)
    y = run_conv(weights, 'sem_seg_head.head.0', y, padding=1)
    y = run_conv(weights, 'sem_seg_head.head.1', y, padding=1)
    sem = run_conv(weights, 'sem_seg_head.predictor', y, relu=False)
    y = original_decoder(weights, 'AFF_EMBED_head', feats, pool_kernel)
    y = run_conv(weights, 'AFF_EMBED_head.affinity_head.0',
                  torch.cat([y, sem], dim=1), padding=1)
    y = run_conv(weights, 'AFF_EMBED_head.affinity_head.1', y, padding=1)
    logits = []
    for k, e in enumerate(edge_distances):
        if e == 1:
            x, groups = y, 1
        else:
            p = int(e / 2.0)
            row = F.pad(y[:, :, e:, :] - y[:, :, :-e, :], (0, 0, p, p))
            col = F.pad(y[:, :, :, e:] - y[:, :, :, :-e], (p, p, 0, 0))
            x, groups = torch.cat([row, col], dim=1), 2
        name = f'AFF_EMBED_head.classifiers.{k}'
        x = run_conv(weights, f'{name}.0', x, padding=1, groups=groups)
        x = run_conv(weights, f'{name}.1', x, padding=1, groups=groups)
        logits.append(run_conv(weights, f'{name}.2', x, relu=False))
    return sem, logits


def test_converted_heads_compute_the_original_heads():
    """Same backbone features in, the converted heads give the original's
    semantic logits (in this project's class order) and boundary logits
    (moved from the original's centred position to the first pixel of
    each pair), for every offset."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(CITYSCAPES)
    cfg.model.backbone.init_cfg = None
    pool_kernel = (2, 4)  # the configs' crop / 16, scaled to this image
    for head in ('semantic_head', 'affinity_head'):
        cfg.model[head].decoder.aspp_pool_kernel = pool_kernel
    model = MODELS.build(cfg.model)
    distances = model.affinity_head.edge_distances
    src = fabricate(19, distances, CITYSCAPES_THINGS, 2048, seed=1)
    model.load_state_dict(convert(src, model), strict=True)
    model.eval()

    # the original needs more than 64 rows at stride 4 for offset 64
    x = torch.randn(1, 3, 288, 288, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        feats = model.backbone(x)
        sem = model.semantic_head(feats)
        boundary = model.affinity_head(feats, sem)
        ref_sem, ref_logits = original_heads(src, feats, distances,
                                             pool_kernel)
    torch.testing.assert_close(sem, ref_sem[:, CITYSCAPES_PERM])
    height, width = sem.shape[2:]
    compared = 0
    for k, d in enumerate(distances):
        shift = 0 if d == 1 else d // 2
        rows, cols = height - d, width - d
        if rows > 0:
            torch.testing.assert_close(
                boundary[:, k, 0, :rows],
                ref_logits[k][:, 0, shift:shift + rows])
            compared += 1
        if cols > 0:
            torch.testing.assert_close(
                boundary[:, k, 1, :, :cols],
                ref_logits[k][:, 1, :, shift:shift + cols])
            compared += 1
    assert compared == 2 * len(distances)
