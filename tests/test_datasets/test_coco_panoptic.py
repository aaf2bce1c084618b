"""COCO panoptic base config: standard paths, train and test pipelines on a
tiny dataset written here in the COCO panoptic format."""
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.datasets import CocoPanopticDataset
from mmdet.registry import DATASETS
from panopticapi.utils import id2rgb

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/_base_/datasets/coco_panoptic.py')
METAINFO = CocoPanopticDataset.METAINFO
CLASSES = METAINFO['classes']
HEIGHT, WIDTH = 200, 300
VOID = 255

# Per image: [(class name, segment id, rows, cols)], painted in order;
# pixels left at segment id 0 are void.
IMAGES = {
    'train2017': {
        1: [('sky-other-merged', 11, (0, 100), (0, 300)),
            ('grass-merged', 12, (100, 190), (0, 300)),
            ('person', 13, (40, 160), (20, 60)),
            ('person', 14, (40, 160), (200, 240)),
            ('car', 15, (120, 180), (80, 180))],
        2: [('road', 21, (0, 200), (0, 300)),
            ('dog', 22, (50, 90), (100, 150))],
    },
    'val2017': {
        3: [('wall-other-merged', 31, (0, 120), (0, 300)),
            ('floor-other-merged', 32, (120, 200), (0, 300)),
            ('chair', 33, (80, 170), (30, 90)),
            ('cat', 34, (100, 150), (200, 260))],
    },
}


def categories():
    """The 133 mmdet COCO panoptic classes, ids 1..133 in class order."""
    return [
        dict(
            id=index,
            name=name,
            isthing=int(name in METAINFO['thing_classes']),
            supercategory=name) for index, name in enumerate(CLASSES, 1)
    ]


def paint(segments):
    """Return the segment ids [H, W] int64 (0 = void)."""
    panoptic = np.zeros((HEIGHT, WIDTH), np.int64)
    for _, segment_id, (y0, y1), (x0, x1) in segments:
        panoptic[y0:y1, x0:x1] = segment_id
    return panoptic


def expected_labels(segments):
    """Dataset labels [H, W] uint8 (255 = void) of a painted image."""
    panoptic = paint(segments)
    labels = np.full((HEIGHT, WIDTH), VOID, np.uint8)
    for name, segment_id, _, _ in segments:
        labels[panoptic == segment_id] = CLASSES.index(name)
    return labels


def write_split(root, split, images):
    rng = np.random.default_rng(0)
    name_to_id = {c['name']: c['id'] for c in categories()}
    coco = dict(images=[], annotations=[], categories=categories())
    for image_id, segments in images.items():
        file_name = f'{image_id:012d}.jpg'
        mmcv.imwrite(
            rng.integers(64, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8),
            osp.join(root, split, file_name))
        panoptic = paint(segments)
        png_name = file_name.replace('.jpg', '.png')
        mmcv.imwrite(
            id2rgb(panoptic)[..., ::-1],
            osp.join(root, 'annotations', f'panoptic_{split}', png_name))
        segments_info = []
        for name, segment_id, _, _ in segments:
            ys, xs = np.nonzero(panoptic == segment_id)
            segments_info.append(
                dict(
                    id=segment_id,
                    category_id=name_to_id[name],
                    iscrowd=0,
                    area=int(ys.size),
                    bbox=[
                        int(xs.min()),
                        int(ys.min()),
                        int(xs.max() - xs.min() + 1),
                        int(ys.max() - ys.min() + 1)
                    ]))
        coco['images'].append(
            dict(id=image_id, file_name=file_name, height=HEIGHT, width=WIDTH))
        coco['annotations'].append(
            dict(
                image_id=image_id,
                file_name=png_name,
                segments_info=segments_info))
    with open(osp.join(root, 'annotations', f'panoptic_{split}.json'),
              'w') as f:
        json.dump(coco, f)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('coco'))
    for split, images in IMAGES.items():
        write_split(root, split, images)
    return root


def build_dataset(cfg, loader, root):
    loader.dataset.data_root = root
    init_default_scope('mmdet')
    dataset = DATASETS.build(loader.dataset)
    assert isinstance(dataset, CocoPanopticDataset)
    return dataset


def test_config_standard_paths():
    cfg = Config.fromfile(CONFIG)
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert (train.type, train.data_root) == ('CheckedCocoPanopticDataset',
                                             'data/coco/')
    assert train.ann_file == 'annotations/panoptic_train2017.json'
    assert train.data_prefix == dict(
        img='train2017/', seg='annotations/panoptic_train2017/')
    assert val.ann_file == 'annotations/panoptic_val2017.json'
    assert val.test_mode
    assert cfg.val_evaluator.type == 'COPSPanopticMetric'
    assert cfg.val_evaluator.ann_file == (
        'data/coco/annotations/panoptic_val2017.json')
    crop = train.pipeline[3]
    assert (crop.type, crop.crop_size) == ('RandomCrop', (640, 640))
    # no Pad step: the COCO model configs pad batches to a multiple of 640
    assert 'Pad' not in {step.type for step in train.pipeline}


def test_train_pipeline(coco_root):
    cfg = Config.fromfile(CONFIG)
    dataset = build_dataset(cfg, cfg.train_dataloader, coco_root)
    assert len(dataset) == 2
    thing_labels = {CLASSES.index(name) for name in ('person', 'car', 'dog')}
    for index in range(len(dataset)):
        sample = dataset[index]
        data_sample = sample['data_samples']
        # Resized to a short side of 320..640 (the 200 x 300 images), then
        # cropped to at most 640 x 640 (the batch is padded by the model's
        # data preprocessor).
        height, width = sample['inputs'].shape[1:]
        assert 320 <= min(height, width) <= max(height, width) <= 640
        semantic = data_sample.gt_sem_seg.sem_seg[0]
        assert semantic.shape == (height, width)
        assert (semantic != VOID).any()
        instances = data_sample.gt_instances
        assert instances.masks.masks.shape[1:] == (height, width)
        assert set(instances.labels.tolist()) <= thing_labels
        for mask, label in zip(instances.masks.masks, instances.labels):
            assert (semantic[torch.from_numpy(mask).bool()] == label).all()


def test_test_pipeline(coco_root):
    cfg = Config.fromfile(CONFIG)
    dataset = build_dataset(cfg, cfg.test_dataloader, coco_root)
    assert len(dataset) == 1
    sample = dataset[0]
    # Long side resized to 640; ground truth stays at the original size.
    assert sample['inputs'].shape == (3, 427, 640)
    data_sample = sample['data_samples']
    assert data_sample.ori_shape == (HEIGHT, WIDTH)
    assert data_sample.img_id == 3
    np.testing.assert_array_equal(data_sample.gt_sem_seg.sem_seg[0].numpy(),
                                  expected_labels(IMAGES['val2017'][3]))
    assert sorted(data_sample.gt_instances.labels.tolist()) == sorted(
        [CLASSES.index('chair'), CLASSES.index('cat')])
