"""COPSPanopticMetric: per-image PQ, and the hotcoco backend gives
panopticapi's numbers (to 1e-6) on the synthetic val split and on
fabricated Cityscapes-size pairs."""
import csv
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.registry import init_default_scope

from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import DATASETS, METRICS
from projects.cops.evaluation import COPSPanopticMetric  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/_base_/datasets/synthetic_panoptic.py')


def load_tool(path):
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def perturbed_predictions(dataset):
    """mmdet-format panoptic maps (class + instance * INSTANCE_OFFSET, void
    = C) from the ground truth: image 0 exact, the others shifted, with a
    void block, a thing dropped and a stuff class swapped, so that matches,
    misses, false positives and void overlaps all occur."""
    rng = np.random.default_rng(0)
    num_classes = len(dataset.metainfo['classes'])
    num_things = len(dataset.metainfo['thing_classes'])
    samples = []
    for index in range(len(dataset)):
        data_sample = dataset[index]['data_samples']
        semantic = data_sample.gt_sem_seg.sem_seg[0].long()
        pan = torch.where(semantic == 255, num_classes, semantic)
        masks = torch.from_numpy(data_sample.gt_instances.masks.masks).bool()
        for instance, (mask, label) in enumerate(
                zip(masks, data_sample.gt_instances.labels), start=1):
            pan[mask] = label + instance * INSTANCE_OFFSET
        if index:
            pan = torch.roll(pan, tuple(rng.integers(-4, 5, 2)), (0, 1))
            top, left = rng.integers(0, 48, 2)
            pan[top:top + 16, left:left + 16] = num_classes
            if len(masks):
                pan[pan == 1 * INSTANCE_OFFSET + pan[masks[0]][0] %
                    INSTANCE_OFFSET] = num_classes
            stuff = int(rng.integers(num_things, num_classes))
            pan[pan == stuff] = num_things + (stuff - num_things + 1) % (
                num_classes - num_things)
        samples.append(
            dict(
                img_id=data_sample.img_id,
                img_path=data_sample.img_path,
                ori_shape=data_sample.ori_shape,
                pred_panoptic_seg=dict(sem_seg=pan[None])))
    return samples


def evaluate(root, samples, dataset, **kwargs):
    metric = METRICS.build(
        dict(
            Config.fromfile(CONFIG).val_evaluator,
            ann_file=root + 'annotations/panoptic_val.json',
            seg_prefix=root + 'annotations/panoptic_val/',
            **kwargs))
    metric.dataset_meta = dataset.metainfo
    for start in range(0, len(samples), 4):
        metric.process({}, samples[start:start + 4])
    return metric.evaluate(len(samples))


@pytest.fixture(scope='module')
def dataset_and_samples(synthetic_root):
    init_default_scope('mmdet')
    dataset = DATASETS.build(
        dict(
            Config.fromfile(CONFIG).val_dataloader.dataset,
            data_root=synthetic_root))
    return dataset, perturbed_predictions(dataset)


def test_hotcoco_and_panopticapi_agree_per_image_and_overall(
        synthetic_root, dataset_and_samples, tmp_path):
    dataset, samples = dataset_and_samples
    metrics, records = {}, {}
    for backend in ('hotcoco', 'panopticapi'):
        prefix = str(tmp_path / backend)
        metrics[backend] = evaluate(
            synthetic_root,
            samples,
            dataset,
            backend=backend,
            classwise=True,
            per_image_prefix=prefix)
        records[backend] = load(prefix + '.json')
    assert set(metrics['hotcoco']) == set(metrics['panopticapi'])
    for key, value in metrics['panopticapi'].items():  # percent: 1e-6 * 100
        assert metrics['hotcoco'][key] == pytest.approx(value, abs=1e-4), key
    assert 0 < metrics['panopticapi']['coco_panoptic/PQ'] < 95
    for ours, theirs in zip(records['hotcoco'], records['panopticapi']):
        assert ours.keys() == theirs.keys()
        for key, value in theirs.items():
            if isinstance(value, float):
                assert ours[key] == pytest.approx(value, abs=1e-4), key
            else:
                assert ours[key] == value, key


def test_per_image_json_and_csv(synthetic_root, dataset_and_samples,
                                tmp_path):
    dataset, samples = dataset_and_samples
    prefix = str(tmp_path / 'per_image')
    evaluate(
        synthetic_root, samples, dataset, num_worst=2,
        per_image_prefix=prefix)
    records = load(prefix + '.json')
    assert [r['img_path'] for r in records] == [
        s['img_path'] for s in samples
    ]
    # the unperturbed image scores 100, every perturbed one less
    assert records[0]['PQ'] == records[0]['SQ'] == records[0]['RQ'] == 100.
    assert all(r['PQ'] < 100. for r in records[1:])
    for record in records:
        for group in ('', '_th', '_st'):
            pq, sq, rq = (record[f'{s}{group}'] for s in ('PQ', 'SQ', 'RQ'))
            if pq is not None:  # per class PQ = SQ * RQ <= both
                assert 0 <= pq <= min(sq, rq) + 1e-9
    with open(prefix + '.csv') as f:
        rows = list(csv.DictReader(f))
    assert [float(row['PQ']) for row in rows] == pytest.approx(
        [r['PQ'] for r in records])


def test_bad_backend_settings_are_refused(synthetic_root, tmp_path):
    with pytest.raises(ValueError, match="backend must be one of"):
        METRICS.build(dict(type='COPSPanopticMetric', backend='fast'))
    with pytest.raises(ValueError, match="backend='hotcoco' needs ann_file"):
        METRICS.build(
            dict(
                type='COPSPanopticMetric',
                seg_prefix=synthetic_root + 'annotations/panoptic_val/'))
    # with outfile_prefix (format_only for a test server) it is mmdet's
    METRICS.build(
        dict(
            type='COPSPanopticMetric',
            ann_file=synthetic_root + 'annotations/panoptic_val.json',
            outfile_prefix=str(tmp_path / 'results'),
            format_only=True))


def test_hotcoco_equals_panopticapi_on_cityscapes_size_pairs(tmp_path):
    benchmark = load_tool('tools/analysis_tools/benchmark_pq.py')
    paths = benchmark.fabricate_pairs(str(tmp_path), 3, 1024, 2048, seed=1)
    reference = benchmark.panopticapi_pq(paths)
    assert 0.3 < reference['All']['pq'] < 0.95
    assert reference['Things']['n'] == 8 and reference['Stuff']['n'] == 11
    for per_image in (False, True):
        assert benchmark.max_difference(
            reference, benchmark.hotcoco_pq(paths, per_image)) < 1e-6
