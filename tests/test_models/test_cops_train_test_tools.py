"""``tools/train.py`` then ``tools/test.py`` with the synthetic stage-1
config on a few generated images (the real command lines, shrunk with
``--cfg-options``). The helpers are shared with the stage-2 tool test."""
import importlib.util
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/cops_r18_synthetic_pretrain.py')
GENERATOR = osp.join(REPO,
                     'tools/dataset_converters/make_synthetic_panoptic.py')
SIZE = 64


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """4 train / 2 val images of 64 x 64 in ``<tmp>/data/synthetic/``, so
    that from ``<tmp>`` the config's own relative paths find them."""
    spec = importlib.util.spec_from_file_location('make_synthetic_panoptic',
                                                  GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    root = str(tmp_path_factory.mktemp('run') / 'data' / 'synthetic') + '/'
    generator.generate(
        root, 4, 2, seed=0,
        params=generator.SceneParams(
            size=SIZE, min_extent=12., max_extent=32.))
    return root


def run(script, *args, cwd=REPO):
    """``python tools/<script> args`` from ``cwd``; fails with its output."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run([sys.executable,
                           osp.join(REPO, 'tools', script), *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{script} failed:\n{output[-3000:]}'
    return output


def loader_options():
    """Batch 2, data in the main process, for every dataloader."""
    return [
        f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
        for key in ('batch_size=2', 'num_workers=0',
                    'persistent_workers=False')
    ]


def data_options(root):
    """Loader options plus the training and validation data at ``root``."""
    return loader_options() + [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/panoptic_val.json',
        f'val_evaluator.seg_prefix={root}annotations/panoptic_val/',
    ]


def test_train_then_test_prints_pq(data_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    run('train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
        *data_options(data_root), 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2')
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(checkpoint)
    # the test evaluators (panoptic, semantic, instance, time) keep their
    # relative paths: run from the folder holding data/synthetic
    output = run(
        'test.py',
        CONFIG,
        checkpoint,
        '--work-dir',
        work_dir,
        '--cfg-options',
        *loader_options(),
        cwd=osp.dirname(osp.dirname(osp.dirname(data_root))))
    for key in ('PQ', 'PQ_th', 'PQ_st'):
        assert re.search(rf'coco_panoptic/{key}: \d+\.\d+', output), key
