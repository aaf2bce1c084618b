"""``tools/train.py`` then ``tools/test.py`` with the synthetic stage-1
config on a few generated images (the real command lines, shrunk with
``--cfg-options``)."""
import os.path as osp
import re

import pytest
from tool_runs import BASE_CONFIG, data_options, loader_options, run_tool

pytestmark = pytest.mark.slow


def test_train_then_test_prints_pq(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    run_tool('train.py', BASE_CONFIG, '--work-dir', work_dir,
             '--cfg-options', *data_options(synthetic_root),
             'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2')
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(checkpoint)
    # the test evaluators (panoptic, semantic, instance, time) keep their
    # relative paths: run from the folder holding data/synthetic
    output = run_tool(
        'test.py',
        BASE_CONFIG,
        checkpoint,
        '--work-dir',
        work_dir,
        '--cfg-options',
        *loader_options(),
        cwd=osp.dirname(osp.dirname(osp.dirname(synthetic_root))))
    for key in ('PQ', 'PQ_th', 'PQ_st'):
        assert re.search(rf'coco_panoptic/{key}: \d+\.\d+', output), key
