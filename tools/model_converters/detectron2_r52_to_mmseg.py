"""Convert detectron2's DeepLab ResNet ("R-52") to mmseg ``ResNetV1c`` keys.

The COPS backbone starts from the ImageNet weights of Panoptic-DeepLab's
ResNet-50 with a deep stem of three 3x3 convs (128 output channels)::

    wget https://dl.fbaipublicfiles.com/detectron2/DeepLab/R-52.pkl
    python tools/model_converters/detectron2_r52_to_mmseg.py \\
        R-52.pkl checkpoints/resnet50_v1c_stem128_imagenet.pth

The layouts match layer for layer (stride in the 3x3 conv, 1x1 conv
shortcut), only the names differ::

    stem.conv{1,2,3}[.norm]            -> stem.{0,3,6} / stem.{1,4,7}
    res{2..5}.{b}.conv{1,2,3}[.norm]   -> layer{1..4}.{b}.conv{j} / .bn{j}
    res{2..5}.{b}.shortcut[.norm]      -> layer{1..4}.{b}.downsample.{0,1}

The ImageNet classifier (``fc``) is dropped. The COPS converter
(``detectron2_cops_to_mmdet.py``) reuses the file reader and the renaming.
"""
import argparse
import io
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional

import numpy as np
import torch
from mmengine.logging import print_log

# How many mismatching keys an error message lists.
NUM_LISTED = 8
IGNORED_RESNET_KEY = re.compile(r'(^|\.)fc\.(weight|bias)$')


def load_storage_bytes(data: bytes):
    """Stand-in for ``torch.storage._load_from_bytes`` (how a plain pickle
    stores a tensor's data) that keeps ``weights_only=True``."""
    return torch.load(io.BytesIO(data), weights_only=True)


class WeightsUnpickler(pickle.Unpickler):
    """Unpickler for detectron2 ``.pkl`` weights: arrays or tensors in dicts.

    ``torch.load`` reads only files written by ``torch.save``, and a plain
    ``pickle.load`` would run any global a file names; this one resolves
    only what numpy arrays and plainly pickled tensors need.
    """

    ALLOWED = {
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'),
        ('numpy._core.multiarray', 'scalar'),
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
        ('collections', 'OrderedDict'),
        ('torch._utils', '_rebuild_tensor_v2'),
    }

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return load_storage_bytes
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f'global {module}.{name} is not allowed in a weights file')
        return super().find_class(module, name)


def list_keys(keys: Iterable[str]) -> str:
    """The first ``NUM_LISTED`` keys, sorted, and how many more there are."""
    keys = sorted(keys)
    more = len(keys) - NUM_LISTED
    return ', '.join(keys[:NUM_LISTED]) + (f' (+{more} more)'
                                           if more > 0 else '')


def load_detectron2_state(path: str) -> Dict[str, torch.Tensor]:
    """Read the model weights of a detectron2 checkpoint.

    Accepts both formats detectron2 writes: a ``torch.save`` file (``.pth``,
    read with ``weights_only=True``) and a pickle of numpy arrays (``.pkl``
    of its model zoo). Either may hold the weights under ``'model'`` (with
    ``optimizer``, ``iteration`` ... beside) or be the weights dict itself.
    Pickles are read with :class:`WeightsUnpickler` (no code runs).

    Args:
        path (str): Checkpoint file.

    Returns:
        dict[str, Tensor]: Parameter and buffer name -> tensor, in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The file is no detectron2 weights file; the message
            names it and what was found.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'weights file not found: {path}')
    try:
        if zipfile.is_zipfile(path):
            data = torch.load(path, map_location='cpu', weights_only=True)
        else:
            with open(path, 'rb') as f:
                data = WeightsUnpickler(f, encoding='latin1').load()
    except Exception as error:
        raise ValueError(
            f'{path}: not a detectron2 weights file (a torch.save checkpoint '
            f'or a pickle of numpy arrays): {error}') from error
    if isinstance(data, dict) and 'model' in data:
        data = data['model']
    if not isinstance(data, dict) or not data:
        raise ValueError(f'{path}: expected a dict of weights (or a dict '
                         f"with 'model'), got {type(data).__name__}")
    state = OrderedDict()
    for key, value in data.items():
        if isinstance(value, (np.ndarray, np.generic)):
            value = torch.from_numpy(np.array(value))
        if not isinstance(value, torch.Tensor):
            raise ValueError(
                f'{path}: weight {key!r} is a {type(value).__name__}, not an '
                'array; is this a detectron2 checkpoint?')
        state[key] = value
    return state


def rename_resnet_key(key: str) -> Optional[str]:
    """detectron2 ResNet name -> mmseg ``ResNetV1c`` name (None: unknown).

    ``key`` is relative to the backbone (``stem.conv1.weight``,
    ``res3.0.shortcut.norm.running_var`` ...).
    """
    match = re.fullmatch(r'stem\.conv([123])\.(norm\.)?(\w+)', key)
    if match:
        conv, norm, param = match.groups()
        index = 3 * (int(conv) - 1) + (1 if norm else 0)
        return f'stem.{index}.{param}'
    match = re.fullmatch(
        r'res([2-5])\.(\d+)\.(conv[123]|shortcut)\.(norm\.)?(\w+)', key)
    if match:
        stage, block, conv, norm, param = match.groups()
        prefix = f'layer{int(stage) - 1}.{block}'
        if conv == 'shortcut':
            return f'{prefix}.downsample.{1 if norm else 0}.{param}'
        name = conv.replace('conv', 'bn') if norm else conv
        return f'{prefix}.{name}.{param}'
    return None


def match_state(converted: Dict[str, torch.Tensor],
                expected: Dict[str, torch.Tensor], source: str,
                unknown: List[str]) -> Dict[str, torch.Tensor]:
    """Check converted weights against the target model's state dict.

    Batch-norm ``num_batches_tracked`` counters that the source lacks
    (detectron2's ``FrozenBatchNorm2d`` has none) are set to 0; every other
    key must be present once with the target's shape.

    Args:
        converted (dict): Target name -> tensor.
        expected (dict): The target model's ``state_dict()``.
        source (str): File name for error messages.
        unknown (list[str]): Source keys without a target name.

    Returns:
        dict: ``converted`` in the order of ``expected``, dtypes of
        ``expected``.

    Raises:
        ValueError: Naming ``source`` and the first mismatching keys.
    """
    problems = []
    if unknown:
        problems.append(f'keys without a counterpart: {list_keys(unknown)}')
    missing = [
        k for k in expected
        if k not in converted and not k.endswith('.num_batches_tracked')
    ]
    if missing:
        problems.append(f'missing keys: {list_keys(missing)}')
    extra = [k for k in converted if k not in expected]
    if extra:
        problems.append(f'unexpected keys: {list_keys(extra)}')
    wrong = [
        f'{k} {tuple(converted[k].shape)} (expected '
        f'{tuple(expected[k].shape)})' for k in expected
        if k in converted and converted[k].shape != expected[k].shape
    ]
    if wrong:
        problems.append(f'shape mismatch: {list_keys(wrong)}')
    if problems:
        raise ValueError(f'{source}: ' + '; '.join(problems))
    return OrderedDict((k, converted[k].to(v.dtype) if k in converted else
                        torch.zeros_like(v)) for k, v in expected.items())


def convert_resnet(state: Dict[str, torch.Tensor],
                   expected: Dict[str, torch.Tensor],
                   source: str) -> Dict[str, torch.Tensor]:
    """detectron2 DeepLab ResNet weights -> ``ResNetV1c`` state dict.

    Args:
        state (dict): detectron2 backbone weights (``stem.*``, ``res*.*``;
            an ImageNet ``fc`` is dropped).
        expected (dict): ``ResNetV1c(...).state_dict()`` of the target.
        source (str): File name for error messages.

    Returns:
        dict: A state dict that ``expected``'s model loads strictly.
    """
    converted, unknown = OrderedDict(), []
    for key, value in state.items():
        if IGNORED_RESNET_KEY.search(key):
            continue
        new_key = rename_resnet_key(key)
        if new_key is None:
            unknown.append(key)
        else:
            converted[new_key] = value
    return match_state(converted, expected, source, unknown)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='detectron2 DeepLab ResNet (R-52.pkl) -> mmseg '
        'ResNetV1c checkpoint')
    parser.add_argument('src', help='detectron2 weights, e.g. R-52.pkl')
    parser.add_argument('dst', help='mmseg checkpoint to write (.pth)')
    parser.add_argument('--depth', type=int, default=50)
    parser.add_argument(
        '--stem-channels',
        type=int,
        default=128,
        help='output channels of the deep stem (R-52: 128)')
    return parser.parse_args()


def main():
    from mmseg.models.backbones import ResNetV1c
    args = parse_args()
    expected = ResNetV1c(
        depth=args.depth, stem_channels=args.stem_channels).state_dict()
    state = convert_resnet(load_detectron2_state(args.src), expected, args.src)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=state,
            meta=dict(
                converted_from=osp.basename(args.src),
                converter=osp.basename(__file__))), args.dst)
    print_log(f'{len(state)} tensors -> {args.dst}', logger='current')


if __name__ == '__main__':
    main()
