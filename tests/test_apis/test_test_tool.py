"""Acceptance: ``tools/test.py CONFIG CKPT`` on the synthetic val split
reports PQ / SQ / RQ (all, things, stuff, per class), semantic mIoU, segm AP
of the COPS instances and the seconds per image of network and solver, with
a test batch size of 2, and per-image PQ; ``--show-dir`` paints the
predictions (the lowest-PQ ones copied first)."""
import csv
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.runner import Runner

from mmdet.apis import init_detector
from mmdet.evaluation.functional import INSTANCE_OFFSET

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUMBER = r'-?\d+\.\d+'


@pytest.mark.slow
def test_test_tool_reports_every_metric(cops_config, cops_checkpoint,
                                        tmp_path):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/test.py'), cops_config, cops_checkpoint,
        '--work-dir',
        str(tmp_path), '--show-dir', 'painted'
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    keys = [
        f'coco_panoptic/{key}' for key in ('PQ', 'SQ', 'RQ', 'PQ_th', 'SQ_th',
                                           'RQ_th', 'PQ_st', 'SQ_st', 'RQ_st')
    ]
    keys += [
        'sem_seg/mIoU', 'coco/segm_mAP', 'coco/segm_mAP_50',
        'sec_per_img/network', 'sec_per_img/solver', 'sec_per_img/total'
    ]
    final = [
        line for line in output.splitlines() if 'coco_panoptic/PQ:' in line
    ]
    assert final, output[-4000:]
    for key in keys:
        assert re.search(rf'{key}: {NUMBER}', final[-1]), key
    network, solver = (
        float(re.search(rf'sec_per_img/{stage}: ({NUMBER})', final[-1])[1])
        for stage in ('network', 'solver'))
    assert network > 0 and solver > 0
    # the per-class PQ table (classwise=True) and the per-class IoU table
    for name in ('disc', 'square', 'triangle', 'grass', 'water', 'tiles'):
        assert re.search(rf'\|\s*{name}\s*\|\s*{NUMBER}', output), name
    assert 'seconds per image over 4 images' in output
    # --show-dir: mmdet's DetLocalVisualizer paints every test image
    painted = glob.glob(str(tmp_path / '*' / 'painted' / '*.png'))
    assert len(painted) == 4
    assert all(cv2.imread(path) is not None for path in painted)
    # per-image PQ in the run's work dir; the lowest-PQ images logged and
    # their painted images copied to painted/worst/ in rank order
    records = load(glob.glob(str(tmp_path / '*' / 'per_image_pq.json'))[0])
    assert len(records) == 4
    with open(glob.glob(str(tmp_path / '*' / 'per_image_pq.csv'))[0]) as f:
        rows = list(csv.DictReader(f))
    assert [row['img_path'] for row in rows] == [
        record['img_path'] for record in records
    ]
    assert set(rows[0]) == {
        'img_id', 'img_path', 'PQ', 'SQ', 'RQ', 'PQ_th', 'SQ_th', 'RQ_th',
        'PQ_st', 'SQ_st', 'RQ_st'
    }
    assert 'the 4 images of lowest PQ' in output
    ranked = sorted(records, key=lambda record: record['PQ'])
    worst = sorted(glob.glob(str(tmp_path / '*' / 'painted' / 'worst' / '*')))
    assert [osp.basename(path) for path in worst] == [
        f'{rank:03d}_{osp.basename(record["img_path"])}'
        for rank, record in enumerate(ranked, 1)
    ]


@pytest.mark.slow
def test_out_pickle_holds_the_model_outputs(cops_config, cops_checkpoint,
                                            tmp_path):
    """The ``--out`` pickle of ``tools/test.py`` holds the panoptic maps the
    model returned, void pixels included (mmdet's CocoPanopticMetric alone
    writes VOID = 0 into them in place on the CPU)."""
    # no stuff segment reaches the minimum area, so every stuff pixel is
    # void whatever the fixture model predicts (instances depend on its
    # random weights and may be absent)
    min_areas = dict(instance_min_area=1000, stuff_min_area=10**8)
    out = str(tmp_path / 'results.pkl')
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/test.py'), cops_config, cops_checkpoint,
        '--work-dir',
        str(tmp_path), '--out', out, '--cfg-options',
        *(f'model.test_cfg.{key}={value}' for key, value in min_areas.items())
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    dumped = {sample['img_path']: sample for sample in load(out)}

    cfg = Config.fromfile(cops_config)
    cfg.model.test_cfg.update(min_areas)
    model = init_detector(cfg, cops_checkpoint, device='cpu')
    void = len(model.dataset_meta['classes'])
    num_void = 0
    with torch.no_grad():
        for batch in Runner.build_dataloader(cfg.test_dataloader):
            for sample in model.test_step(batch):
                expected = sample.pred_panoptic_seg.sem_seg.numpy()
                got = dumped.pop(sample.img_path)['pred_panoptic_seg']
                np.testing.assert_array_equal(got['sem_seg'].numpy(),
                                              expected)
                num_void += int((expected % INSTANCE_OFFSET == void).sum())
    assert not dumped
    assert num_void > 0  # the case that mmdet's metric corrupts occurs
