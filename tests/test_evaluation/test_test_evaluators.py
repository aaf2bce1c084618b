"""The dataset configs' test evaluators: ground truth given as the
prediction scores 100 in segm AP (instances JSON written by the generator,
labels mapped to its categories) and in mIoU."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS
from mmdet.structures.mask import mask2bbox

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs/_base_/datasets')


def test_ground_truth_scores_full_segm_ap_and_miou(synthetic_root):
    init_default_scope('mmdet')
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'synthetic_panoptic.py'))
    types = [metric['type'] for metric in cfg.test_evaluator]
    assert types == [
        'COPSPanopticMetric', 'COPSSemSegMetric', 'CocoMetric',
        'InferenceTimeMetric'
    ]
    assert cfg.test_evaluator[0]['classwise']
    instance_metric = dict(
        cfg.test_evaluator[2],
        ann_file=synthetic_root + 'annotations/instances_val.json')
    evaluator = Evaluator([cfg.test_evaluator[1], instance_metric])
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, data_root=synthetic_root))
    evaluator.dataset_meta = dataset.metainfo
    num_things = 0
    for sample in dataset:
        data_sample = sample['data_samples']
        masks = torch.from_numpy(data_sample.gt_instances.masks.masks).bool()
        labels = data_sample.gt_instances.labels
        num_things += len(labels)
        data_sample.pred_sem_seg = data_sample.gt_sem_seg.clone()
        data_sample.pred_instances = data_sample.gt_instances.new(
            masks=masks,
            labels=labels,
            scores=torch.ones(len(labels)),
            bboxes=mask2bbox(masks))
        evaluator.process([data_sample.to_dict()])
    assert num_things > 4
    metrics = evaluator.evaluate(len(dataset))
    assert metrics['sem_seg/mIoU'] == pytest.approx(100.)
    assert metrics['coco/segm_mAP'] == pytest.approx(1.)
