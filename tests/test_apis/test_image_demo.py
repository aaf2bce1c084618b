"""demo/image_demo.py on a folder of images."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import mmengine
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.slow
def test_image_demo_on_a_folder(synthetic_root, cops_config, cops_checkpoint,
                                tmp_path):
    out_dir = str(tmp_path / 'demo')
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'demo/image_demo.py'), synthetic_root + 'val',
        cops_config, '--weights', cops_checkpoint, '--out-dir', out_dir,
        '--batch-size', '2', '--save-result-images'
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'results written to' in proc.stdout + proc.stderr
    names = sorted(os.listdir(synthetic_root + 'val'))
    for name in names:
        stem = osp.splitext(name)[0]
        for path in (osp.join(out_dir, 'vis', name),
                     osp.join(out_dir, 'preds', stem + '_panoptic_seg.png'),
                     osp.join(out_dir, 'result_images',
                              stem + '_semantic.png'),
                     osp.join(out_dir, 'result_images',
                              stem + '_boundary_d8.png')):
            image = cv2.imread(path)
            assert image is not None, path
            assert image.shape[:2] == (64, 64), path
        pred = mmengine.load(osp.join(out_dir, 'preds', stem + '.json'))
        assert len(pred['labels']) == len(pred['masks']) > 0


@pytest.mark.slow
def test_image_demo_names_a_missing_checkpoint(cops_config, tmp_path):
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'demo/image_demo.py'),
        str(tmp_path), cops_config, '--weights',
        str(tmp_path / 'missing.pth')
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert 'missing.pth' in proc.stderr
