"""Panoptic -> COCO instances conversion (segm AP ground truth)."""
import json
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from panopticapi.utils import id2rgb
from pycocotools.coco import COCO

from projects.cops.evaluation import panoptic_to_instances

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_panoptic(root):
    """One 6 x 8 image: a stuff half (id 7), a thing square (id 300), a
    crowd thing (id 301) and void; one image without things."""
    pan = np.zeros((6, 8), np.int64)
    pan[:, 4:] = 7
    pan[1:3, 1:4] = 300
    pan[4:6, 0:2] = 301
    seg_dir = root / 'pan'
    seg_dir.mkdir()
    mmcv.imwrite(mmcv.rgb2bgr(id2rgb(pan)), str(seg_dir / 'a.png'))
    mmcv.imwrite(
        mmcv.rgb2bgr(id2rgb(np.full((6, 8), 7))), str(seg_dir / 'b.png'))
    panoptic = dict(
        images=[
            dict(id=1, file_name='a.jpg', height=6, width=8),
            dict(id=2, file_name='b.jpg', height=6, width=8)
        ],
        annotations=[
            dict(
                image_id=1,
                file_name='a.png',
                segments_info=[
                    dict(id=7, category_id=5, iscrowd=0),
                    dict(id=300, category_id=9, iscrowd=0),
                    dict(id=301, category_id=9, iscrowd=1)
                ]),
            dict(
                image_id=2,
                file_name='b.png',
                segments_info=[dict(id=7, category_id=5, iscrowd=0)])
        ],
        categories=[
            dict(id=9, name='car', supercategory='vehicle', isthing=1),
            dict(id=5, name='road', supercategory='flat', isthing=0)
        ])
    return panoptic, str(seg_dir), pan


def test_thing_segments_become_rle_instances(tmp_path):
    panoptic, seg_dir, pan = write_panoptic(tmp_path)
    instances = panoptic_to_instances(panoptic, seg_dir)
    assert instances['images'] == panoptic['images']
    assert instances['categories'] == [
        dict(id=9, name='car', supercategory='vehicle')
    ]
    anns = instances['annotations']
    assert [ann['id'] for ann in anns] == [1, 2]
    assert [ann['image_id'] for ann in anns] == [1, 1]
    assert [ann['iscrowd'] for ann in anns] == [0, 1]
    assert [ann['area'] for ann in anns] == [6, 4]
    assert anns[0]['bbox'] == [1., 1., 3., 2.]
    for ann, segment_id in zip(anns, (300, 301)):
        np.testing.assert_array_equal(
            mask_utils.decode(ann['segmentation']), pan == segment_id)
    # loadable by pycocotools, as CocoMetric loads it
    out_file = tmp_path / 'instances.json'
    out_file.write_text(json.dumps(instances))
    coco = COCO(str(out_file))
    assert coco.getAnnIds(imgIds=[1]) == [1, 2]


def test_missing_thing_pixels_raise(tmp_path):
    panoptic, seg_dir, _ = write_panoptic(tmp_path)
    panoptic['annotations'][1]['segments_info'].append(
        dict(id=555, category_id=9, iscrowd=0))
    with pytest.raises(ValueError, match='segment 555 .* no pixel'):
        panoptic_to_instances(panoptic, seg_dir)


@pytest.mark.slow
def test_command_line(tmp_path):
    panoptic, seg_dir, _ = write_panoptic(tmp_path)
    pan_json = tmp_path / 'panoptic.json'
    pan_json.write_text(json.dumps(panoptic))
    out_json = tmp_path / 'out' / 'instances.json'
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/dataset_converters/panoptic_to_instances.py'),
        str(pan_json), seg_dir,
        str(out_json)
    ],
                   check=True,
                   cwd=REPO,
                   capture_output=True)
    assert len(json.loads(out_json.read_text())['annotations']) == 2
