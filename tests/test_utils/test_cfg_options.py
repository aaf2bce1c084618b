"""``--cfg-options`` keys must name something that exists in the config."""
import pytest
from mmengine.config import Config

from projects.cops.utils import merge_cfg_options


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
