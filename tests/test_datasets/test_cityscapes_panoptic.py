"""Cityscapes: converter (official layout -> COCO panoptic), dataset class,
base config pipelines and mmdet's panoptic metric on a fabricated directory.
"""
import importlib.util
import json
import os
import os.path as osp
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import DATASETS, METRICS
from panopticapi.utils import rgb2id

from projects.cops.datasets import CityscapesPanopticDataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/_base_/datasets/cityscapes_panoptic.py')
SCRIPT = osp.join(REPO, 'tools/dataset_converters/cityscapes.py')
CLASSES = CityscapesPanopticDataset.METAINFO['classes']
HEIGHT, WIDTH = 64, 128
VOID = 255

# Cityscapes label ids used below (cityscapesscripts' labels.py):
# unlabeled 0, static 4 and caravan 29 are ignored in evaluation.
ROAD, SIDEWALK, BUILDING, VEGETATION, SKY = 7, 8, 11, 21, 23
PERSON, RIDER, CAR, TRUCK, TRAIN, BICYCLE = 24, 25, 26, 27, 31, 33
UNLABELED, STATIC, CARAVAN = 0, 4, 29

# Per image: (city, stem, [(label id, instance id or None, rows, cols)]),
# painted in order; instance None = no instance id (stuff, or a crowd region
# of a thing class). Expected segments: id -> (class, area, iscrowd).
IMAGES = {
    'train': [
        ('aachen', 'aachen_000000_000019', [
            (SKY, None, (0, 16), (0, 128)),
            (BUILDING, None, (16, 32), (0, 128)),
            (ROAD, None, (32, 64), (0, 128)),
            (UNLABELED, None, (60, 64), (0, 8)),
            (CAR, 0, (36, 46), (8, 28)),
            (CAR, 1, (36, 46), (40, 60)),
            (PERSON, 0, (20, 40), (70, 76)),
            (CAR, None, (48, 52), (90, 110)),
            (CARAVAN, 0, (50, 56), (20, 30)),
        ], {
            23: ('sky', 2048, 0),
            11: ('building', 1976, 0),
            7: ('road', 3476, 0),
            26000: ('car', 200, 0),
            26001: ('car', 200, 0),
            24000: ('person', 120, 0),
            26: ('car', 80, 1),
        }),
        ('bochum', 'bochum_000000_000313', [
            (VEGETATION, None, (0, 32), (0, 128)),
            (SIDEWALK, None, (32, 64), (0, 128)),
            (RIDER, 0, (10, 30), (100, 110)),
            (BICYCLE, 0, (30, 40), (98, 112)),
            (STATIC, None, (50, 64), (0, 10)),
        ], {
            21: ('vegetation', 3868, 0),
            8: ('sidewalk', 3844, 0),
            25000: ('rider', 200, 0),
            33000: ('bicycle', 140, 0),
        }),
    ],
    'val': [
        ('frankfurt', 'frankfurt_000000_000294', [
            (ROAD, None, (0, 64), (0, 128)),
            (TRAIN, 0, (10, 30), (10, 70)),
            (TRUCK, 0, (40, 60), (80, 120)),
            (TRUCK, 1, (40, 60), (20, 40)),
        ], {
            7: ('road', 5792, 0),
            31000: ('train', 1200, 0),
            27000: ('truck', 800, 0),
            27001: ('truck', 400, 0),
        }),
    ],
}


def load_converter():
    spec = importlib.util.spec_from_file_location('cityscapes_converter',
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = load_converter()


def paint(regions):
    """Return (labelIds uint8, instanceIds uint16) [H, W] as Cityscapes
    encodes them: id * 1000 + instance for thing instances, else the id."""
    label_ids = np.zeros((HEIGHT, WIDTH), np.uint8)
    instance_ids = np.zeros((HEIGHT, WIDTH), np.uint16)
    for label_id, instance, (y0, y1), (x0, x1) in regions:
        label_ids[y0:y1, x0:x1] = label_id
        instance_ids[y0:y1, x0:x1] = (
            label_id if instance is None else label_id * 1000 + instance)
    return label_ids, instance_ids


def write_official_layout(root):
    """Fabricate leftImg8bit/ and gtFine/ for IMAGES under root."""
    rng = np.random.default_rng(0)
    for split, images in IMAGES.items():
        for city, stem, regions, _ in images:
            label_ids, instance_ids = paint(regions)
            gt_dir = osp.join(root, 'gtFine', split, city)
            image = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            mmcv.imwrite(
                image,
                osp.join(root, 'leftImg8bit', split, city,
                         stem + '_leftImg8bit.png'))
            mmcv.imwrite(label_ids,
                         osp.join(gt_dir, stem + '_gtFine_labelIds.png'))
            mmcv.imwrite(instance_ids,
                         osp.join(gt_dir, stem + '_gtFine_instanceIds.png'))
    return str(root)


@pytest.fixture(scope='module')
def converted_root(tmp_path_factory):
    """The fabricated root, converted in place through the command line."""
    root = write_official_layout(tmp_path_factory.mktemp('cityscapes'))
    argv = sys.argv
    sys.argv = [SCRIPT, root, '--splits', 'train', 'val']
    try:
        converter.main()
    finally:
        sys.argv = argv
    return root


def load_json(root, split):
    with open(osp.join(root, 'annotations',
                       f'cityscapes_panoptic_{split}.json')) as f:
        return json.load(f)


def expected_pixels(regions, expected_segments):
    """Panoptic ids [H, W] the PNG must hold (0 = void), and dataset labels."""
    label_ids, instance_ids = paint(regions)
    panoptic = np.where(
        np.isin(instance_ids, list(expected_segments)), instance_ids, 0)
    labels = np.full((HEIGHT, WIDTH), VOID, np.uint8)
    for segment_id, (name, _, _) in expected_segments.items():
        labels[instance_ids == segment_id] = CLASSES.index(name)
    return panoptic, labels


@pytest.mark.parametrize('split', ['train', 'val'])
def test_converter_segments_match_instance_ids(converted_root, split):
    coco = load_json(converted_root, split)
    assert [c['name'] for c in coco['categories']] == list(CLASSES)
    category_ids = {c['name']: c['id'] for c in coco['categories']}
    assert category_ids['road'] == 0 and category_ids['car'] == 13
    assert [c['isthing'] for c in coco['categories']] == [1] * 8 + [0] * 11
    names = {c['id']: c['name'] for c in coco['categories']}
    images = {image['id']: image for image in coco['images']}
    assert sorted(images) == list(range(1, len(IMAGES[split]) + 1))
    annotations = {a['image_id']: a for a in coco['annotations']}
    for image_id, (city, stem, regions, expected) in enumerate(
            IMAGES[split], 1):
        image = images[image_id]
        assert image['file_name'] == stem + '_leftImg8bit.png'
        assert (image['height'], image['width']) == (HEIGHT, WIDTH)
        annotation = annotations[image_id]
        assert annotation['file_name'] == image['file_name']
        segments = {
            s['id']: (names[s['category_id']], s['area'], s['iscrowd'])
            for s in annotation['segments_info']
        }
        assert segments == expected
        png = mmcv.imread(
            osp.join(converted_root, 'annotations',
                     f'cityscapes_panoptic_{split}', annotation['file_name']),
            channel_order='rgb')
        panoptic, labels = expected_pixels(regions, expected)
        np.testing.assert_array_equal(rgb2id(png), panoptic)
        semantic = mmcv.imread(
            osp.join(converted_root, 'annotations',
                     f'cityscapes_semantic_{split}', image['file_name']),
            flag='unchanged')
        np.testing.assert_array_equal(semantic, labels)
    bboxes = {
        s['id']: s['bbox']
        for a in coco['annotations'] for s in a['segments_info']
    }
    if split == 'train':
        assert bboxes[26000] == [8, 36, 20, 10]
    assert not [
        name for name in os.listdir(osp.join(converted_root, 'annotations'))
        if name.endswith('_trainId') or name.startswith('tmp')
    ]


def test_converter_reports_missing_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        converter.convert_split(str(tmp_path / 'absent'), str(tmp_path),
                                'train')
    root = write_official_layout(tmp_path / 'cityscapes')
    with pytest.raises(FileNotFoundError, match='leftImg8bit/test'):
        converter.convert_split(root, root, 'test')
    os.makedirs(osp.join(root, 'leftImg8bit', 'test'))
    with pytest.raises(FileNotFoundError, match='gtFine/test'):
        converter.convert_split(root, root, 'test')
    os.makedirs(osp.join(root, 'gtFine', 'test', 'berlin'))
    with pytest.raises(FileNotFoundError, match='no .*instanceIds'):
        converter.convert_split(root, root, 'test')
    missing = osp.join(root, 'gtFine', 'val', 'frankfurt',
                       'frankfurt_000000_000294_gtFine_labelIds.png')
    os.remove(missing)
    with pytest.raises(FileNotFoundError, match='labelIds.png'):
        converter.convert_split(root, root, 'val')
    os.remove(missing.replace('labelIds', 'instanceIds'))
    with pytest.raises(FileNotFoundError, match='instanceIds'):
        converter.convert_split(root, root, 'val')


def build_dataset(root, split, crop_wh=None):
    """The base config's dataset with data_root = root; the train crop and
    rescale shrunk to the fabricated 64x128 images."""
    cfg = Config.fromfile(CONFIG)
    loader = cfg.train_dataloader if split == 'train' else cfg.val_dataloader
    if crop_wh is not None:
        resize, crop = loader.dataset.pipeline[2:4]
        resize.scale = (WIDTH, HEIGHT)
        crop.crop_size = crop_wh
    loader.dataset.data_root = root
    init_default_scope('mmdet')
    return DATASETS.build(loader.dataset)


def test_dataset_train_pipeline(converted_root):
    dataset = build_dataset(converted_root, 'train', crop_wh=(64, 32))
    assert isinstance(dataset, CityscapesPanopticDataset)
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(converted_root, 'leftImg8bit',
                                        'train', 'aachen',
                                        'aachen_000000_000019_leftImg8bit.png')
    labels = sorted((s['category'], s['is_thing'])
                    for s in info['segments_info'])
    person, car = CLASSES.index('person'), CLASSES.index('car')
    road, sky = CLASSES.index('road'), CLASSES.index('sky')
    assert labels == sorted([(person, True), (car, True), (car, True),
                             (car, False), (road, False), (sky, False),
                             (CLASSES.index('building'), False)])
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 32, 64)
    data_sample = sample['data_samples']
    semantic = data_sample.gt_sem_seg.sem_seg
    assert semantic.shape == (1, 32, 64)
    assert set(semantic.unique().tolist()) <= {
        person, car, road, sky, CLASSES.index('building'), VOID
    }
    instances = data_sample.gt_instances
    assert instances.masks.masks.shape[1:] == (32, 64)
    assert set(instances.labels.tolist()) <= {person, car}
    for mask, label in zip(instances.masks.masks, instances.labels):
        assert (semantic[0][torch.from_numpy(mask).bool()] == label).all()


def test_dataset_val_pipeline_and_metric(converted_root):
    """Full-resolution test pipeline; the ground truth fed back as the
    prediction must score PQ = 100 with the base config's evaluator."""
    dataset = build_dataset(converted_root, 'val')
    sample = dataset[0]
    data_sample = sample['data_samples']
    assert sample['inputs'].shape == (3, HEIGHT, WIDTH)
    _, _, regions, expected = IMAGES['val'][0]
    _, labels = expected_pixels(regions, expected)
    semantic = data_sample.gt_sem_seg.sem_seg[0].numpy()
    np.testing.assert_array_equal(semantic, labels)

    instances = data_sample.gt_instances
    panoptic = torch.from_numpy(semantic.astype(np.int64))
    panoptic[panoptic == VOID] = len(CLASSES)
    masks = torch.from_numpy(instances.masks.masks).bool()
    for index, mask in enumerate(masks, 1):
        panoptic[mask] += index * INSTANCE_OFFSET
    cfg = Config.fromfile(CONFIG)
    evaluator = cfg.val_evaluator
    evaluator.ann_file = osp.join(converted_root,
                                  'annotations/cityscapes_panoptic_val.json')
    evaluator.seg_prefix = osp.join(converted_root,
                                    'annotations/cityscapes_panoptic_val/')
    metric = METRICS.build(evaluator)
    metric.dataset_meta = dataset.metainfo
    metric.process({}, [
        dict(
            img_id=data_sample.img_id,
            img_path=data_sample.img_path,
            ori_shape=data_sample.ori_shape,
            pred_panoptic_seg=dict(sem_seg=panoptic[None]))
    ])
    results = metric.compute_metrics(metric.results)
    assert results['PQ'] == pytest.approx(100.0)
    assert results['PQ_th'] == pytest.approx(100.0)
    assert results['PQ_st'] == pytest.approx(100.0)


def test_dataset_rejects_non_cityscapes_file_name(converted_root, tmp_path):
    coco = load_json(converted_root, 'val')
    coco['images'][0]['file_name'] = 'frankfurt/frankfurt_leftImg8bit.png'
    ann_file = tmp_path / 'renamed.json'
    ann_file.write_text(json.dumps(coco))
    with pytest.raises(ValueError, match='not a Cityscapes name'):
        CityscapesPanopticDataset(
            ann_file=str(ann_file),
            data_prefix=dict(img='leftImg8bit/val/', seg='panoptic/'))


def test_converter_writes_thing_instances(converted_root):
    """The COCO instances JSON of the segm AP: one RLE annotation per thing
    segment of the panoptic JSON, the thing categories in label order."""
    coco = load_json(converted_root, 'val')
    with open(
            osp.join(converted_root, 'annotations',
                     'cityscapes_instances_val.json')) as f:
        instances = json.load(f)
    assert [c['name'] for c in instances['categories']] == list(CLASSES[:8])
    things = {c['id'] for c in coco['categories'] if c['isthing']}
    expected = [(a['image_id'], s['category_id'], s['area'])
                for a in coco['annotations'] for s in a['segments_info']
                if s['category_id'] in things]
    assert expected
    assert [(a['image_id'], a['category_id'], a['area'])
            for a in instances['annotations']] == expected
