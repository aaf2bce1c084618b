"""Every shipped config keeps the reliability pieces: the hooks for exact
resume, distributed logging and non-finite losses, and the checked data
loaders."""
import os.path as osp
from glob import glob

import pytest
from mmengine.config import Config
from reliability_utils import REPO

CONFIGS = sorted(glob(osp.join(REPO, 'configs', '*.py')))


def test_configs_found():
    assert len(CONFIGS) >= 2


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_keeps_reliability_hooks_and_checked_loaders(path):
    cfg = Config.fromfile(path)
    hooks = {hook['type'] for hook in cfg.get('custom_hooks', [])}
    assert {'IterationSeedHook', 'RankMeanLogVarsHook',
            'FiniteLossHook'} <= hooks, path
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader']['dataset']
        steps = {step['type'] for step in dataset['pipeline']}
        assert 'LoadPanopticAnnotations' not in steps, (split, steps)
        assert 'LoadCheckedPanopticAnnotations' in steps, (split, steps)
        # test pipelines keep mmcv's image loader for mmdet's DetInferencer
        image_loader = 'LoadCheckedImageFromFile' if split == 'train' \
            else 'LoadImageFromFile'
        assert image_loader in steps, (split, steps)
        assert dataset['type'] != 'CocoPanopticDataset', split


# The original's stage-2 foreground areas (affinityNet/panoptic_affinity:
# config.py and the fully_differentiable yaml files): in training,
# PanopticAffinityAMWC.compute_foreground_probabilities divides INSTANCE_AREA
# by TARGET_DOWNSAMPLING and STUFF_AREA by TARGET_DOWNSAMPLING and by
# STUFF_AREA_DOWNSAMPLING_FACTOR_TRAIN, areas counted in grid points.
ORIGINAL_INSTANCE_AREA = 200
ORIGINAL_STUFF_AREA = {'cityscapes': 2048, 'coco': 4096}
ORIGINAL_TARGET_DOWNSAMPLING = 4
ORIGINAL_STUFF_AREA_DOWNSAMPLING_FACTOR_TRAIN = 4


@pytest.mark.parametrize('dataset', sorted(ORIGINAL_STUFF_AREA))
def test_stage2_foreground_areas_follow_the_original_formula(dataset):
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'cops_r50_{dataset}.py'))
    loss_pq = cfg.model.loss_pq
    assert loss_pq.thing_min_area == (
        ORIGINAL_INSTANCE_AREA / ORIGINAL_TARGET_DOWNSAMPLING)
    assert loss_pq.stuff_min_area == (
        ORIGINAL_STUFF_AREA[dataset] / ORIGINAL_TARGET_DOWNSAMPLING /
        ORIGINAL_STUFF_AREA_DOWNSAMPLING_FACTOR_TRAIN)
    # at test time the original keeps the full-resolution pixel areas
    assert cfg.model.test_cfg.instance_min_area == ORIGINAL_INSTANCE_AREA
    assert cfg.model.test_cfg.stuff_min_area == ORIGINAL_STUFF_AREA[dataset]
