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
