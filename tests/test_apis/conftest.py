"""Fixtures of the inference / demo / evaluation tests: a shrunk stage-1
config pointing at the shared synthetic data (``synthetic_root``) and a
freshly initialised checkpoint saved the way the runner saves one (state
dict + ``meta.dataset_meta``)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint

from mmdet.registry import MODELS
from projects.cops.datasets import SyntheticPanopticDataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_CONFIG = osp.join(REPO, 'configs/cops_r18_synthetic_pretrain.py')


@pytest.fixture(scope='session')
def cops_config(synthetic_root, tmp_path_factory):
    """The synthetic stage-1 config at tiny widths, no minimum segment
    areas, its test split and evaluators on ``synthetic_root`` (batches of
    3, so the last of the 4 val images is a partial batch); a file."""
    cfg = Config.fromfile(BASE_CONFIG)
    decoder = dict(
        in_channels=(8, 16, 64),
        aspp_channels=8,
        aspp_dilations=(2, 4),
        project_channels=(4, 8),
        decoder_channels=8)
    cfg.merge_from_dict({
        'model.backbone.base_channels':
        8,
        'model.backbone.stem_channels':
        8,
        'model.semantic_head.decoder':
        decoder,
        'model.semantic_head.head_channels':
        8,
        'model.affinity_head.decoder':
        decoder,
        'model.affinity_head.head_channels':
        8,
        'model.affinity_head.classifier_channels':
        4,
        'model.test_cfg':
        dict(instance_min_area=0, stuff_min_area=0),
        'test_dataloader.batch_size':
        3,
        'test_dataloader.num_workers':
        0,
        'test_dataloader.persistent_workers':
        False,
        'test_dataloader.dataset.data_root':
        synthetic_root,
    })
    panoptic, _, instances, _ = cfg.test_evaluator
    panoptic.ann_file = synthetic_root + 'annotations/panoptic_val.json'
    panoptic.seg_prefix = synthetic_root + 'annotations/panoptic_val/'
    instances.ann_file = synthetic_root + 'annotations/instances_val.json'
    path = str(tmp_path_factory.mktemp('config') / 'cops_tiny.py')
    cfg.dump(path)
    return path


@pytest.fixture(scope='session')
def cops_checkpoint(cops_config, tmp_path_factory):
    """A freshly initialised (seeded) model of ``cops_config``; its class
    biases are zeroed so that thing instances occur (two or three per image;
    with the seeded random biases the stuff classes win everywhere)."""
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cops_config).model)
    model.init_weights()
    torch.nn.init.zeros_(model.semantic_head.conv_seg.bias)
    path = str(tmp_path_factory.mktemp('checkpoint') / 'cops_tiny.pth')
    save_checkpoint(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(SyntheticPanopticDataset.METAINFO))),
        path)
    return path
