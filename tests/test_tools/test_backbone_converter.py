"""tools/model_converters/detectron2_r52_to_mmseg.py: detectron2's DeepLab
ResNet ("R-52") -> mmseg ResNetV1c, checked numerically against a plain-torch
copy of detectron2's layer order, and the configs' backbone weight settings.
"""
import importlib.util
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmseg.models.backbones import ResNetV1c

from mmengine.registry import init_default_scope

import projects.cops  # noqa: F401 (registers the project's modules)
from mmdet.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools/model_converters/detectron2_r52_to_mmseg.py')
R50_CONFIG = osp.join(REPO, 'configs/cops_r50_cityscapes_pretrain.py')


def load_script():
    spec = importlib.util.spec_from_file_location('r52_converter', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = load_script()


class D2Conv(nn.Conv2d):
    """detectron2 ``layers.Conv2d`` with ``norm``: conv, then its BN."""

    def __init__(self, cin, cout, kernel, stride=1, dilation=1):
        super().__init__(
            cin,
            cout,
            kernel,
            stride,
            padding=dilation * (kernel // 2),
            dilation=dilation,
            bias=False)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.norm(super().forward(x))


class D2Bottleneck(nn.Module):
    """detectron2 ``BottleneckBlock`` with ``stride_in_1x1=False`` (the
    DeepLab configs): stride and dilation in the 3x3 conv, 1x1 conv
    shortcut where the channels change."""

    def __init__(self, cin, mid, cout, stride, dilation):
        super().__init__()
        self.shortcut = D2Conv(cin, cout, 1, stride) if cin != cout else None
        self.conv1 = D2Conv(cin, mid, 1)
        self.conv2 = D2Conv(mid, mid, 3, stride, dilation)
        self.conv3 = D2Conv(mid, cout, 1)

    def forward(self, x):
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        out = self.conv3(out)
        return F.relu(out + (self.shortcut(x) if self.shortcut else x))


class D2DeepLabStem(nn.Module):
    """detectron2 ``DeepLabStem``: three 3x3 convs (stride 2, 1, 1) with
    BN + ReLU, then a 3x3 max pool of stride 2."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = D2Conv(3, channels // 2, 3, 2)
        self.conv2 = D2Conv(channels // 2, channels // 2, 3)
        self.conv3 = D2Conv(channels // 2, channels, 3)

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.relu(conv(x))
        return F.max_pool2d(x, 3, 2, 1)


class D2DeepLabResNet50(nn.Module):
    """``build_resnet_deeplab_backbone`` of the COPS configs: depth 50,
    res5 dilated by RES5_DILATION 2 times RES5_MULTI_GRID (1, 2, 4), i.e.
    rates 2, 4, 8 and stride 1; returns res2, res3, res5. ``base`` is the
    bottleneck width of res2 (64 in the real network)."""

    def __init__(self, stem_channels, base):
        super().__init__()
        self.stem = D2DeepLabStem(stem_channels)
        cin = stem_channels
        for stage, blocks, stride in zip((2, 3, 4, 5), (3, 4, 6, 3),
                                         (1, 2, 2, 1)):
            mid = base * 2**(stage - 2)
            rates = [2 * g for g in (1, 2, 4)] if stage == 5 else [1] * blocks
            layers = []
            for i in range(blocks):
                layers.append(
                    D2Bottleneck(cin, mid, 4 * mid, stride if i == 0 else 1,
                                 rates[i]))
                cin = 4 * mid
            setattr(self, f'res{stage}', nn.Sequential(*layers))

    def forward(self, x):
        x = self.stem(x)
        res2 = self.res2(x)
        res3 = self.res3(res2)
        return res2, res3, self.res5(self.res4(res3))


def randomize(model):
    """Random weights and BN statistics (the identity BN would hide a
    swapped norm)."""
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
        elif isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight)
    return model.eval()


def r52_pickle(state, path, classifier_prefix='fc'):
    """Write weights like detectron2's model zoo ``R-52.pkl``: a pickle of
    numpy arrays under ``'model'``, with the ImageNet classifier."""
    model = {k: v.numpy() for k, v in state.items()}
    channels = state['res5.0.conv3.weight'].shape[0]
    model[f'{classifier_prefix}.weight'] = np.zeros((1000, channels),
                                                    np.float32)
    model[f'{classifier_prefix}.bias'] = np.zeros(1000, np.float32)
    with open(path, 'wb') as f:
        pickle.dump(dict(model=model, __author__='test'), f)


def config_backbone(**overrides):
    """The r50 configs' backbone config with ``overrides``."""
    init_default_scope('mmdet')
    backbone = Config.fromfile(R50_CONFIG).model.backbone
    backbone.update(overrides)
    return backbone


def test_rename_resnet_key():
    rename = converter.rename_resnet_key
    assert rename('stem.conv1.weight') == 'stem.0.weight'
    assert rename('stem.conv2.norm.running_var') == 'stem.4.running_var'
    assert rename('stem.conv3.norm.bias') == 'stem.7.bias'
    assert rename('res2.0.shortcut.weight') == 'layer1.0.downsample.0.weight'
    assert (rename('res5.2.shortcut.norm.running_mean') ==
            'layer4.2.downsample.1.running_mean')
    assert rename('res3.1.conv2.norm.weight') == 'layer2.1.bn2.weight'
    assert rename('res4.5.conv3.weight') == 'layer3.5.conv3.weight'
    assert rename('res6.0.conv1.weight') is None
    assert rename('fc.weight') is None


@pytest.mark.parametrize('classifier_prefix', ['fc', 'stem.fc'])
def test_converted_tiny_resnet_matches_detectron2_layer_order(
        tmp_path, classifier_prefix):
    """A tiny DeepLab ResNet-50 (widths / 8) in detectron2's layout, written
    as R-52.pkl is, converted and loaded strictly into the configs' backbone
    (same strides, dilations, multi-grid) gives the same res2/res3/res5."""
    reference = randomize(D2DeepLabResNet50(stem_channels=16, base=8))
    src = str(tmp_path / 'R-52.pkl')
    r52_pickle(reference.state_dict(), src, classifier_prefix)

    backbone = MODELS.build(
        config_backbone(
            stem_channels=16, base_channels=8, norm_cfg=dict(type='BN'),
            init_cfg=None))
    backbone.eval()  # mmseg's ResNet.train() returns None: no chaining
    state = converter.convert_resnet(
        converter.load_detectron2_state(src), backbone.state_dict(), src)
    backbone.load_state_dict(state, strict=True)

    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        expected = reference(x)
        outputs = backbone(x)
    assert len(outputs) == 3
    for out, ref in zip(outputs, expected):
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_cli_writes_checkpoint_the_r50_config_loads(tmp_path, monkeypatch):
    """Full-size R-52 layout: the command of the docs writes the file the
    r50 configs' ``init_cfg`` names; ``init_weights`` loads every tensor."""
    reference = randomize(D2DeepLabResNet50(stem_channels=128, base=64))
    src = str(tmp_path / 'R-52.pkl')
    dst = str(tmp_path / 'checkpoints/resnet50_v1c_stem128_imagenet.pth')
    r52_pickle(reference.state_dict(), src)
    monkeypatch.setattr(sys, 'argv', ['convert', src, dst])
    converter.main()

    default = config_backbone().init_cfg
    assert default == dict(
        type='Pretrained',
        checkpoint='checkpoints/resnet50_v1c_stem128_imagenet.pth')
    backbone = MODELS.build(
        config_backbone(
            norm_cfg=dict(type='BN'),
            init_cfg=dict(type='Pretrained', checkpoint=dst)))
    backbone.init_weights()
    loaded = backbone.state_dict()
    expected = reference.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(
            loaded[converter.rename_resnet_key(key)], value, rtol=0, atol=0)


def test_openmmlab_resnet50_v1c_alternative():
    """The documented alternative: OpenMMLab's ImageNet ResNetV1c (64-channel
    stem) via ``stem_channels=64`` and ``open-mmlab://resnet50_v1c``; the
    built backbone has exactly the keys and shapes of mmseg's ResNetV1c-50
    that checkpoint was saved from (nothing is downloaded here)."""
    from mmengine.runner.checkpoint import get_external_models
    assert 'resnet50_v1c' in get_external_models()
    cfg = config_backbone(
        stem_channels=64,
        norm_cfg=dict(type='BN'),
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c'))
    backbone = MODELS.build(cfg)
    assert backbone.init_cfg['checkpoint'] == 'open-mmlab://resnet50_v1c'
    assert backbone.stem[0].out_channels == 32
    assert backbone.layer1[0].conv1.in_channels == 64
    reference = ResNetV1c(depth=50).state_dict()
    assert {k: v.shape for k, v in backbone.state_dict().items()} == {
        k: v.shape
        for k, v in reference.items()
    }


def test_other_stem_width_names_file_and_keys(tmp_path):
    """R-52 weights against a 64-channel-stem backbone: the shapes differ."""
    reference = D2DeepLabResNet50(stem_channels=128, base=64)
    src = str(tmp_path / 'R-52.pkl')
    r52_pickle(reference.state_dict(), src)
    expected = ResNetV1c(depth=50, stem_channels=64).state_dict()
    with pytest.raises(ValueError) as error:
        converter.convert_resnet(
            converter.load_detectron2_state(src), expected, src)
    message = str(error.value)
    assert src in message and 'shape mismatch' in message
    assert 'stem.3.weight (64, 64, 3, 3) (expected (32, 32, 3, 3))' in message


def test_missing_and_unknown_keys_name_file_and_keys(tmp_path):
    reference = D2DeepLabResNet50(stem_channels=16, base=8)
    state = reference.state_dict()
    del state['res4.1.conv2.weight']
    state['res4.1.conv4.weight'] = torch.zeros(1)
    src = str(tmp_path / 'R-52.pkl')
    r52_pickle(state, src)
    expected = ResNetV1c(
        depth=50, stem_channels=16, base_channels=8).state_dict()
    with pytest.raises(ValueError) as error:
        converter.convert_resnet(
            converter.load_detectron2_state(src), expected, src)
    message = str(error.value)
    assert src in message
    assert 'keys without a counterpart: res4.1.conv4.weight' in message
    assert 'missing keys: layer3.1.conv2.weight' in message


def test_unexpected_files_name_the_file(tmp_path):
    load = converter.load_detectron2_state
    with pytest.raises(FileNotFoundError, match='R-52.pkl'):
        load(str(tmp_path / 'R-52.pkl'))

    text = tmp_path / 'notes.pkl'
    text.write_text('not weights')
    with pytest.raises(ValueError, match='notes.pkl: not a detectron2'):
        load(str(text))

    # a pickle naming any other global is refused, not executed
    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps({'model': {'w': print}}))
    with pytest.raises(ValueError, match='builtins.print is not allowed'):
        load(str(evil))

    listed = tmp_path / 'list.pth'
    torch.save([torch.zeros(1)], str(listed))
    with pytest.raises(ValueError, match='list.pth: expected a dict'):
        load(str(listed))

    mixed = tmp_path / 'mixed.pkl'
    with open(mixed, 'wb') as f:
        pickle.dump({'model': {'stem.conv1.weight': 'abc'}}, f)
    with pytest.raises(ValueError, match="mixed.pkl: weight 'stem.conv1"):
        load(str(mixed))


def test_plain_pickle_of_tensors(tmp_path):
    """A ``.pkl`` holding torch tensors (pickled plainly) instead of numpy
    arrays reads the same; their data stays under ``weights_only``."""
    reference = D2DeepLabResNet50(stem_channels=16, base=8)
    src = str(tmp_path / 'R-52.pkl')
    with open(src, 'wb') as f:
        pickle.dump(dict(model=reference.state_dict()), f)
    state = converter.load_detectron2_state(src)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)


def test_torch_checkpoint_with_model_key(tmp_path):
    """detectron2's own ``.pth`` (torch.save, weights under 'model')."""
    reference = D2DeepLabResNet50(stem_channels=16, base=8)
    src = str(tmp_path / 'model_final.pth')
    torch.save(dict(model=reference.state_dict(), iteration=10), src)
    state = converter.load_detectron2_state(src)
    assert list(state) == list(reference.state_dict())
