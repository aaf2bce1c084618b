"""The synthetic panoptic data: generator, dataset class, config, metric."""
import copy
import json
import os
import os.path as osp
import subprocess
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

from projects.cops.datasets import SyntheticPanopticDataset
from projects.cops.datasets import synthetic_generator as generator

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/_base_/datasets/synthetic_panoptic.py')
SCRIPT = osp.join(REPO,
                  'tools/dataset_converters/make_synthetic_panoptic.py')
NUM_TRAIN, NUM_VAL, SIZE = 4, 2, 64

PARAMS = generator.SceneParams(size=SIZE, min_extent=12., max_extent=32.)


def write_tiny(root, seed=0):
    generator.generate(str(root), NUM_TRAIN, NUM_VAL, seed, PARAMS)
    return str(root)


def read_tree(root):
    """Relative path -> bytes of every file under root."""
    tree = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                tree[osp.relpath(path, root)] = f.read()
    return tree


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    return write_tiny(tmp_path_factory.mktemp('synthetic'))


def build_dataset(root, split):
    init_default_scope('mmdet')
    cfg = Config.fromfile(CONFIG)
    dataset_cfg = cfg[f'{split}_dataloader'].dataset
    dataset_cfg.data_root = root + '/'
    return DATASETS.build(dataset_cfg)


def load_split(root, split):
    with open(osp.join(root, 'annotations', f'panoptic_{split}.json')) as f:
        return json.load(f)


def read_panoptic(root, split, file_name):
    path = osp.join(root, 'annotations', f'panoptic_{split}', file_name)
    return rgb2id(mmcv.imread(path, channel_order='rgb'))


def test_metainfo_is_registered_and_consistent():
    assert DATASETS.get('SyntheticPanopticDataset') is \
        SyntheticPanopticDataset
    meta = SyntheticPanopticDataset.METAINFO
    assert meta['classes'] == meta['thing_classes'] + meta['stuff_classes']
    assert len(meta['thing_classes']) == len(meta['stuff_classes']) == 3
    assert len(meta['palette']) == len(meta['classes'])
    # Segment ids are derived from the (R, G) of the palette colours.
    assert len({colour[:2] for colour in meta['palette']}) == 6


def test_generation_is_deterministic(tiny_root, tmp_path):
    first = read_tree(tiny_root)
    # images and panoptic PNGs; panoptic and instances JSON per split
    assert len(first) == 2 * (NUM_TRAIN + NUM_VAL) + 4
    assert read_tree(write_tiny(tmp_path / 'again')) == first
    other = read_tree(write_tiny(tmp_path / 'other', seed=1))
    assert other.keys() == first.keys()
    assert all(other[name] != first[name] for name in first)


@pytest.mark.slow
def test_command_line(tmp_path):
    out = str(tmp_path / 'cli')
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    subprocess.run([
        sys.executable, SCRIPT, '--out', out, '--num-train', '1',
        '--num-val', '2', '--size', '48', '--max-extent', '24',
        '--noise-std', '0'
    ],
                   check=True,
                   env=env,
                   capture_output=True)
    val = load_split(out, 'val')
    assert len(val['images']) == 2
    assert val['info']['seed'] == 0 and val['info']['noise_std'] == 0
    assert val['info']['size'] == 48 and val['info']['max_extent'] == 24
    image = mmcv.imread(osp.join(out, 'train', '000001.png'))
    assert image.shape == (48, 48, 3)


@pytest.mark.parametrize('kwargs, name', [
    (dict(min_instances=3, max_instances=2), 'min_instances'),
    (dict(size=64, max_extent=64.), 'max_extent'),
    (dict(touch_prob=1.5), 'touch_prob'),
    (dict(min_period=0.), 'min_period'),
])
def test_bad_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        generator.SceneParams(**kwargs)


def test_bad_counts_raise(tmp_path):
    with pytest.raises(ValueError, match='num_val'):
        generator.generate(str(tmp_path), 2, 0)


@pytest.mark.parametrize('split, num_images', [('train', NUM_TRAIN),
                                               ('val', NUM_VAL)])
def test_json_matches_png(tiny_root, split, num_images):
    coco = load_split(tiny_root, split)
    meta = SyntheticPanopticDataset.METAINFO
    assert [cat['name'] for cat in coco['categories']] == list(
        meta['classes'])
    assert [cat['isthing'] for cat in coco['categories']] == [1] * 3 + [0] * 3
    assert coco['info']['size'] == SIZE
    assert len(coco['images']) == len(coco['annotations']) == num_images
    for image_info, ann in zip(coco['images'], coco['annotations']):
        assert image_info['id'] == ann['image_id']
        image = mmcv.imread(
            osp.join(tiny_root, split, image_info['file_name']))
        assert image.shape == (SIZE, SIZE, 3)
        pan = read_panoptic(tiny_root, split, ann['file_name'])
        segments = {seg['id']: seg for seg in ann['segments_info']}
        assert set(np.unique(pan)) - {0} == set(segments)
        things = [s for s in segments.values() if s['category_id'] <= 3]
        assert things, 'every image should hold at least one thing'
        for segment_id, seg in segments.items():
            rows, cols = np.nonzero(pan == segment_id)
            assert seg['area'] == len(rows) >= PARAMS.min_area
            assert seg['bbox'] == [
                cols.min(), rows.min(),
                cols.max() - cols.min() + 1,
                rows.max() - rows.min() + 1
            ]
            assert seg['iscrowd'] == 0
            assert 1 <= seg['category_id'] <= 6


def test_same_class_instances_touch():
    """With every shape placed against an earlier one of its class, some
    pixel pairs are neighbours in different instances of one class."""
    params = generator.SceneParams(
        size=SIZE, min_instances=4, max_instances=4, min_extent=12.,
        max_extent=24., touch_prob=1., same_class_prob=1.)
    rng = np.random.default_rng(0)
    image, pan, segments_info = generator.render_scene(rng, params)
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    category = {seg['id']: seg['category_id'] for seg in segments_info}
    category[0] = 0
    ids, inverse = np.unique(pan, return_inverse=True)
    cats = np.array([category[i] for i in ids])[inverse].reshape(pan.shape)
    differ = pan[:, 1:] != pan[:, :-1]
    same_thing = (cats[:, 1:] == cats[:, :-1]) & (cats[:, 1:] <= 3) & (
        cats[:, 1:] > 0)
    assert (differ & same_thing).any()


def test_shapes_hidden_below_min_area_are_dropped():
    masks = np.zeros((3, 8, 8), bool)
    masks[0, :4] = True  # 32 px, partly covered by shape 1
    masks[1, 2:6] = True  # 32 px, left with 8 px by shape 2
    masks[2, 3:8] = True  # 40 px in front
    front, kept = generator.visible_shapes(list(masks), min_area=10)
    assert kept == [0, 2]
    assert (front == 0).sum() == 24 and (front == 2).sum() == 40
    assert (front == -1).sum() == 0


def expected_semantic(pan, segments_info):
    """Contiguous label per pixel, 255 where void."""
    semantic = np.full(pan.shape, 255, np.int64)
    for seg in segments_info:
        semantic[pan == seg['id']] = seg['category_id'] - 1
    return semantic


def test_dataset_loads_through_pipelines(tiny_root):
    train = build_dataset(tiny_root, 'train')
    assert len(train) == NUM_TRAIN
    sample = train[0]
    gt = sample['data_samples']
    height, width = sample['inputs'].shape[1:]
    assert gt.gt_sem_seg.sem_seg.shape == (1, height, width)
    assert gt.gt_instances.masks.masks.shape[1:] == (height, width)
    assert len(gt.gt_instances.labels) == len(gt.gt_instances.masks)

    val = build_dataset(tiny_root, 'val')
    assert len(val) == NUM_VAL
    coco = load_split(tiny_root, 'val')
    for index, ann in enumerate(coco['annotations']):
        sample = val[index]
        gt = sample['data_samples']
        assert sample['inputs'].shape == (3, SIZE, SIZE)
        assert gt.img_id == ann['image_id']
        assert gt.ori_shape == (SIZE, SIZE)
        pan = read_panoptic(tiny_root, 'val', ann['file_name'])
        semantic = expected_semantic(pan, ann['segments_info'])
        np.testing.assert_array_equal(gt.gt_sem_seg.sem_seg[0].numpy(),
                                      semantic)
        things = [s for s in ann['segments_info'] if s['category_id'] <= 3]
        assert gt.gt_instances.labels.tolist() == [
            s['category_id'] - 1 for s in things
        ]
        np.testing.assert_array_equal(
            gt.gt_instances.masks.masks,
            np.stack([pan == s['id'] for s in things]))


def ground_truth_as_prediction(data_sample, num_classes):
    """mmdet's pred_panoptic_seg from a packed sample's ground truth:
    class + instance * INSTANCE_OFFSET, void = num_classes."""
    semantic = data_sample.gt_sem_seg.sem_seg[0].long()
    pan = torch.where(semantic == 255, num_classes, semantic)
    masks = torch.from_numpy(data_sample.gt_instances.masks.masks).bool()
    for instance, (mask, label) in enumerate(
            zip(masks, data_sample.gt_instances.labels), start=1):
        pan[mask] = label + instance * INSTANCE_OFFSET
    return pan


def evaluate(dataset, root, corrupt=False):
    cfg = Config.fromfile(CONFIG)
    evaluator_cfg = copy.deepcopy(cfg.val_evaluator)
    evaluator_cfg.ann_file = osp.join(root, 'annotations/panoptic_val.json')
    evaluator_cfg.seg_prefix = osp.join(root, 'annotations/panoptic_val/')
    metric = METRICS.build(evaluator_cfg)
    metric.dataset_meta = dataset.metainfo
    num_classes = len(dataset.metainfo['classes'])
    for sample in dataset:
        data_sample = sample['data_samples']
        pan = ground_truth_as_prediction(data_sample, num_classes)
        if corrupt:
            pan[pan == pan.max()] = num_classes
        metric.process({}, [
            dict(img_id=data_sample.img_id, img_path=data_sample.img_path,
                 ori_shape=data_sample.ori_shape,
                 pred_panoptic_seg=dict(sem_seg=pan[None]))
        ])
    return metric.evaluate(len(dataset))


def test_metric_gives_full_pq_for_ground_truth(tiny_root):
    val = build_dataset(tiny_root, 'val')
    metrics = evaluate(val, tiny_root)
    for key in ('PQ', 'SQ', 'RQ', 'PQ_th', 'PQ_st'):
        assert metrics[f'coco_panoptic/{key}'] == pytest.approx(100.)
    corrupted = evaluate(val, tiny_root, corrupt=True)
    assert corrupted['coco_panoptic/PQ'] < 100.
