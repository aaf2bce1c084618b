"""``--cfg-options`` keys must name something that exists in the config."""
import pytest
from mmengine.config import Config

from projects.cops_runtime.utils import merge_cfg_options


@pytest.fixture
def cfg():
    return Config(
        dict(
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=10),
            train_pipeline=[dict(type='LoadImageFromFile')]))


def test_existing_and_new_leaf_keys_merge(cfg):
    merge_cfg_options(cfg, {
        'train_cfg.max_iters': 3,
        'train_cfg.val_interval': 2,
        'train_pipeline.0.backend_args': None
    })
    assert cfg.train_cfg.max_iters == 3
    assert cfg.train_cfg.val_interval == 2
    assert cfg.train_pipeline[0]['backend_args'] is None


@pytest.mark.parametrize('key',
                         ['train_pipeline.backend_args', 'train_pipeline.1'])
def test_list_items_are_addressed_by_existing_index(cfg, key):
    with pytest.raises(
            KeyError,
            match=f'"{key}": "train_pipeline" is a list of 1 items, address '
            'one by its index'):
        merge_cfg_options(cfg, {key: 1})


@pytest.mark.parametrize('key, missing', [
    ('train_cfgs.max_iters', 'train_cfgs'),
    ('train_cfg.loop.max_iters', 'train_cfg.loop'),
    ('train_pipeline.3.backend_args', 'train_pipeline.3'),
])
def test_typo_in_parent_path_names_the_missing_part(cfg, key, missing):
    with pytest.raises(KeyError, match=f'"{missing}" does not exist'):
        merge_cfg_options(cfg, {key: 1})
    assert cfg.train_cfg.max_iters == 10


@pytest.mark.parametrize('key, value', [
    ('randomness.seed', 0),
    ('randomness.deterministic', True),
    ('optim_wrapper.clip_grad.max_norm', 35),
    ('train_dataloader.dataset.metainfo.classes', ('a', 'b')),
    ('auto_scale_lr.base_batch_size', 8),
    ('resume', True),
])
def test_keys_mmengine_runner_reads_may_be_new(key, value):
    """mmdet's usual overrides of sections a config need not define."""
    cfg = Config(
        dict(
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_dataloader=dict(dataset=dict(type='CocoDataset'))))
    merge_cfg_options(cfg, {key: value})
    node = cfg
    for part in key.split('.'):
        node = node[part]
    assert node == value
    assert cfg.optim_wrapper.optimizer.lr == 0.01


@pytest.mark.parametrize('key, message', [
    ('randomness.sed', '"randomness" takes only seed, diff_rank_seed, '
     'deterministic; got "sed"'),
    ('optim_wrapper.clip_grad.max_nrm', '"optim_wrapper.clip_grad" takes only'),
    ('auto_scale_lr.base_batchsize', '"auto_scale_lr" takes only'),
    ('randomnes.seed', '"randomnes" does not exist'),
    ('train_dataloaders.dataset.metainfo.classes',
     '"train_dataloaders" does not exist'),
    ('optim_wrapper.clip_grad.max_norm.x', '"optim_wrapper.clip_grad" does '
     'not exist'),
    ('resum', '"resum" does not exist in the config and is not a key '
     'mmengine.*Runner reads'),
])
def test_typos_in_new_sections_and_top_level_keys_are_caught(cfg, key, message):
    cfg.optim_wrapper = dict(optimizer=dict(type='SGD'))
    with pytest.raises(KeyError, match=message):
        merge_cfg_options(cfg, {key: 1})
    assert 'randomness' not in cfg and 'clip_grad' not in cfg.optim_wrapper
