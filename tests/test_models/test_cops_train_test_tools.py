"""``tools/train.py`` then ``tools/test.py`` with the synthetic stage-1
config on a few generated images: the real command lines, run from a
folder whose ``data/synthetic`` holds the tiny data, shrunk with
``--cfg-options``."""
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
def run_dir(tmp_path_factory):
    """A folder with 4 train / 2 val images of 64 x 64 in data/synthetic."""
    spec = importlib.util.spec_from_file_location('make_synthetic_panoptic',
                                                  GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    folder = tmp_path_factory.mktemp('run')
    generator.generate(
        str(folder / 'data' / 'synthetic'), 4, 2, seed=0,
        params=generator.SceneParams(
            size=SIZE, min_extent=12., max_extent=32.))
    return str(folder)


def run(folder, script, *args):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run([sys.executable,
                           osp.join(REPO, 'tools', script), *args],
                          cwd=folder,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{script} failed:\n{output[-3000:]}'
    return output


LOADER_OPTIONS = [
    f'{split}_dataloader.{key}'
    for split in ('train', 'val', 'test')
    for key in ('batch_size=2', 'num_workers=0', 'persistent_workers=False')
]


def test_train_then_test_prints_pq(run_dir):
    work_dir = osp.join(run_dir, 'work')
    run(run_dir, 'train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
        *LOADER_OPTIONS, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2')
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(checkpoint)
    output = run(run_dir, 'test.py', CONFIG, checkpoint, '--work-dir',
                 work_dir, '--cfg-options', *LOADER_OPTIONS)
    for key in ('PQ', 'PQ_th', 'PQ_st'):
        assert re.search(rf'coco_panoptic/{key}: \d+\.\d+', output), key
