"""Convert the authors' released COPS checkpoints (detectron2) to this project.

The original code (github ``aabbas90/COPS``, ``PanopticAffinity`` in
``affinityNet/panoptic_affinity/panoptic_seg_affinity.py``) released a
Cityscapes and a COCO model (links in ``configs/metafile.yml`` and
docs/weights.md). This script maps every tensor of such a checkpoint to the
model a config builds, checks that the result loads strictly, and writes an
mmengine checkpoint::

    python tools/model_converters/detectron2_cops_to_mmdet.py \\
        configs/cops_r50_cityscapes.py model_final.pth \\
        checkpoints/cops_r50_cityscapes_authors.pth
    python tools/test.py configs/cops_r50_cityscapes.py \\
        checkpoints/cops_r50_cityscapes_authors.pth

What changes besides the names (docs/weights.md has the full table):

- class order: detectron2 numbers Cityscapes classes by trainId (stuff
  first), this project puts things first; the semantic predictor's rows and
  the class-logit input channels of the affinity head are permuted. COCO
  has the same order in both (things, then stuff, each by category id).
- cost scalars: the original's ``[1]``-shaped parameters
  (``seg_cost_weights.0/1``, ``edge_costs_weights.2k/2k+1``) become
  ``node_scale``, ``node_bias`` and the per-offset ``edge_scales`` /
  ``edge_biases`` vectors.
- batch norms: detectron2's BN, SyncBN and FrozenBN store the same
  weight, bias, running mean and variance (the authors' FrozenBN adds eps
  in the forward as torch's BN does); a missing ``num_batches_tracked``
  becomes 0.
- dropped: ``pixel_mean`` / ``pixel_std`` (checked against the config's
  data preprocessor) and ``amwc_layer.training_per_class_areas``, a
  constant the original never reads in its forward (used here to check the
  class order: it holds the instance area for things, the stuff area for
  stuff).
"""
import argparse
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from detectron2_r52_to_mmseg import (list_keys, load_detectron2_state,
                                     match_state, rename_resnet_key)

# detectron2's contiguous ids of Cityscapes: trainId order (builtin_meta.py).
CITYSCAPES_ORIGINAL_CLASSES = ('road', 'sidewalk', 'building', 'wall',
                               'fence', 'pole', 'traffic light',
                               'traffic sign', 'vegetation', 'terrain', 'sky',
                               'person', 'rider', 'car', 'truck', 'bus',
                               'train', 'motorcycle', 'bicycle')
HEADS = {'sem_seg_head': 'semantic_head', 'AFF_EMBED_head': 'affinity_head'}
DECODER = r'(sem_seg_head|AFF_EMBED_head)\.decoder'
# (original module, module here, whether it is an mmcv ConvModule (conv +
# bn) or a plain conv). Skips: the original names the decoder stage by its
# feature (res3, res2), this project counts from the deepest (0, 1).
MODULES: List[Tuple[str, str, bool]] = [
    (DECODER + r'\.res5\.project_conv\.convs\.0', r'{0}.decoder.aspp.0', True),
    (DECODER + r'\.res5\.project_conv\.convs\.([123])\.(depthwise|pointwise)',
     r'{0}.decoder.aspp.{1}.{2}_conv', True),
    (DECODER + r'\.res5\.project_conv\.convs\.4\.1', r'{0}.decoder.image_pool',
     True),
    (DECODER + r'\.res5\.project_conv\.project', r'{0}.decoder.aspp_project.0',
     True),
    (DECODER + r'\.res3\.project_conv', r'{0}.decoder.skip_projections.0',
     True),
    (DECODER + r'\.res2\.project_conv', r'{0}.decoder.skip_projections.1',
     True),
    (DECODER + r'\.res3\.fuse_conv\.(depthwise|pointwise)',
     r'{0}.decoder.fusions.0.{1}_conv', True),
    (DECODER + r'\.res2\.fuse_conv\.(depthwise|pointwise)',
     r'{0}.decoder.fusions.1.{1}_conv', True),
    (r'(sem_seg_head)\.head\.(\d+)', r'{0}.convs.{1}', True),
    (r'(sem_seg_head)\.predictor', r'{0}.conv_seg', False),
    (r'(AFF_EMBED_head)\.affinity_head\.(\d+)', r'{0}.convs.{1}', True),
    (r'(AFF_EMBED_head)\.classifiers\.(\d+)\.([01])',
     r'{0}.classifiers.{1}.{2}', True),
    (r'(AFF_EMBED_head)\.classifiers\.(\d+)\.2', r'{0}.classifiers.{1}.2',
     False),
]
COST_SCALAR = re.compile(
    r'amwc_layer\.(seg_cost_weights|edge_costs_weights)\.(\d+)')
NON_WEIGHTS = ('pixel_mean', 'pixel_std',
               'amwc_layer.training_per_class_areas')


def convert_cost_scalars(state: Dict[str, torch.Tensor],
                         source: str) -> Dict[str, torch.Tensor]:
    """The cost head's scalars from the original's ``[1]``-shaped
    parameters: ``seg_cost_weights.0/1`` (node scale, bias) and
    ``edge_costs_weights.2k/2k+1`` (scale, bias of offset k)."""
    found = {'seg_cost_weights': {}, 'edge_costs_weights': {}}
    for key, value in state.items():
        match = COST_SCALAR.fullmatch(key)
        if match:
            if value.numel() != 1:
                raise ValueError(f'{source}: {key} has shape '
                                 f'{tuple(value.shape)}, expected (1,)')
            found[match.group(1)][int(match.group(2))] = value.reshape(())
    seg, edge = found['seg_cost_weights'], found['edge_costs_weights']
    if sorted(seg) != [0, 1] or sorted(edge) != list(range(
            len(edge))) or not edge or len(edge) % 2:
        raise ValueError(
            f'{source}: expected amwc_layer.seg_cost_weights.0/1 and '
            'edge_costs_weights.0 .. 2D-1 (scale, bias per offset), got '
            f'seg_cost_weights {sorted(seg)}, edge_costs_weights '
            f'{sorted(edge)}')
    edge = torch.stack([edge[i] for i in range(len(edge))])
    return {
        'cost_head.node_scale': seg[0],
        'cost_head.node_bias': seg[1],
        'cost_head.edge_scales': edge[0::2],
        'cost_head.edge_biases': edge[1::2],
    }


def rename_head_key(key: str) -> Optional[str]:
    """Name here of a decoder / head tensor of the original (None:
    unknown). detectron2's conv-with-norm ``X.weight`` / ``X.norm.p``
    becomes mmcv's ``Y.conv.weight`` / ``Y.bn.p``."""
    module, _, param = key.rpartition('.')
    norm = module.endswith('.norm')
    if norm:
        module = module[:-len('.norm')]
    for pattern, target, conv_module in MODULES:
        match = re.fullmatch(pattern, module)
        if match is None:
            continue
        groups = match.groups()
        name = target.format(HEADS[groups[0]], *groups[1:])
        if norm:
            return f'{name}.bn.{param}' if conv_module else None
        return f'{name}.conv.{param}' if conv_module else f'{name}.{param}'
    return None


def class_permutation(classes: Sequence[str]) -> List[int]:
    """Original class index of each class of this project's order.

    Cityscapes: detectron2's trainId order. Other datasets (COCO): the
    same order as here, since detectron2 and mmdet both list COCO's things,
    then its stuff, each by category id.
    """
    classes = list(classes)
    if sorted(classes) == sorted(CITYSCAPES_ORIGINAL_CLASSES):
        return [CITYSCAPES_ORIGINAL_CLASSES.index(c) for c in classes]
    return list(range(len(classes)))


def check_class_order(areas: torch.Tensor, perm: Sequence[int],
                      num_things: int, source: str) -> None:
    """The original's per-class areas hold one value for every thing class
    and another for every stuff class: the permuted things must be the
    former, stuff the latter."""
    areas = areas.flatten()[list(perm)]
    things, stuff = areas[:num_things], areas[num_things:]
    thing_areas, stuff_areas = set(things.tolist()), set(stuff.tolist())
    if len(thing_areas) > 1 or len(stuff_areas) > 1 or (
            thing_areas & stuff_areas):
        raise ValueError(
            f'{source}: amwc_layer.training_per_class_areas (thing classes '
            'hold the instance area, stuff the stuff area) does not mark the '
            f'config\'s {num_things} thing classes as things in the '
            f'expected order (areas in this order: {areas.tolist()}); was it '
            'trained on another dataset or class order?')


def convert_cops(state: Dict[str, torch.Tensor],
                 expected: Dict[str, torch.Tensor], classes: Sequence[str],
                 num_things: int, mean: Sequence[float], std: Sequence[float],
                 source: str) -> Dict[str, torch.Tensor]:
    """Original COPS weights -> this project's state dict.

    Args:
        state (dict): The original ``PanopticAffinity`` weights.
        expected (dict): ``state_dict()`` of the model the config builds.
        classes (Sequence[str]): The config's classes, things first.
        num_things (int): Number of thing classes.
        mean (Sequence[float]): The config's data preprocessor mean (RGB).
        std (Sequence[float]): Its std.
        source (str): File name for error messages.

    Returns:
        dict: A state dict ``expected``'s model loads strictly.

    Raises:
        ValueError: The file does not fit the config; the message names it
            and the first mismatching keys.
    """
    missing = [k for k in NON_WEIGHTS if k not in state]
    predictor = state.get('sem_seg_head.predictor.weight')
    if predictor is None or missing:
        raise ValueError(
            f'{source}: not a COPS (PanopticAffinity) checkpoint, missing '
            f'keys: {list_keys(missing or ["sem_seg_head.predictor.weight"])}')
    if predictor.shape[0] != len(classes):
        raise ValueError(
            f'{source}: sem_seg_head.predictor.weight has '
            f'{predictor.shape[0]} classes, the config {len(classes)}')
    for name, value in (('pixel_mean', mean), ('pixel_std', std)):
        if not torch.allclose(state[name].flatten().double(),
                              torch.tensor(value, dtype=torch.double)):
            raise ValueError(
                f'{source}: {name} {state[name].flatten().tolist()} differs '
                f'from the config\'s data_preprocessor {list(value)}')
    perm = class_permutation(classes)
    check_class_order(state['amwc_layer.training_per_class_areas'], perm,
                      num_things, source)
    index = torch.tensor(perm)

    converted, unknown = OrderedDict(), []
    for key, value in state.items():
        if key in NON_WEIGHTS or COST_SCALAR.fullmatch(key):
            continue
        if key.startswith('backbone.'):
            name = rename_resnet_key(key[len('backbone.'):])
            name = name and f'backbone.{name}'
        else:
            name = rename_head_key(key)
        if name in ('semantic_head.conv_seg.weight',
                    'semantic_head.conv_seg.bias'):
            value = value[index]
        elif name == 'affinity_head.convs.0.conv.weight':
            # input: decoder features, then the (detached) class logits
            offset = value.shape[1] - len(classes)
            value = torch.cat(
                [value[:, :offset], value[:, offset + index]], dim=1)
        if name is None:
            unknown.append(key)
        else:
            converted[name] = value
    converted.update(convert_cost_scalars(state, source))
    return match_state(converted, expected, source, unknown)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Authors\' COPS checkpoint (detectron2) -> checkpoint of '
        'this project')
    parser.add_argument('config', help='config of the converted model')
    parser.add_argument('src', help='original checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help='checkpoint to write (.pth)')
    return parser.parse_args()


def main():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import projects.cops  # noqa: F401 (registers the project's modules)
    from mmdet.registry import DATASETS, MODELS
    args = parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.backbone.init_cfg = None  # the checkpoint replaces ImageNet
    model = MODELS.build(cfg.model)
    dataset = cfg.test_dataloader.dataset
    metainfo = dict(DATASETS.get(dataset.type).METAINFO)
    metainfo.update(dataset.get('metainfo') or {})
    preprocessor = cfg.model.data_preprocessor
    state = convert_cops(
        load_detectron2_state(args.src), model.state_dict(),
        metainfo['classes'], model.num_things_classes, preprocessor.mean,
        preprocessor.std, args.src)
    model.load_state_dict(state, strict=True)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=state,
            meta=dict(
                dataset_meta=metainfo,
                converted_from=osp.basename(args.src),
                converter=osp.basename(__file__))), args.dst)
    print_log(
        f'{len(state)} tensors -> {args.dst} (loads strictly into '
        f'{osp.basename(args.config)})',
        logger='current')


if __name__ == '__main__':
    main()
