# Copyright (c) OpenMMLab. All rights reserved.
"""Break the panoptic errors of saved predictions down by type.

PQ counts a ground-truth segment without a same-class prediction of
IoU > 0.5 as a false negative, whatever went wrong; neither panopticapi nor
mmdet says what. This tool classifies every ground-truth segment (crowd and
void excluded) by the prediction that overlaps it most:

- ``matched``: a prediction of its class with IoU > 0.5 (a PQ true positive),
  (void and crowd pixels are left out of the predictions, as PQ's
  matching leaves out void),
- ``wrong_class``: a prediction of another class with IoU > 0.5,
- ``merged``: the largest same-class overlap covers over half of the segment
  but also other ground truth (IoU <= 0.5),
- ``split``: same-class predictions cover over half of the segment, none of
  them more than half,
- ``missed``: the rest (mostly predicted as other classes or void),

and every predicted segment without a match as ``false_positive``. It prints
the counts of things and stuff, and ``--json`` writes them.

Example (the predictions of ``tools/test.py --out``)::

    python tools/test.py configs/cops_r18_synthetic.py CKPT --out preds.pkl
    python tools/analysis_tools/panoptic_errors.py \
        configs/cops_r18_synthetic.py preds.pkl
"""
import argparse
import json
import os.path as osp
from collections import Counter

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.fileio import load
from panopticapi.utils import rgb2id

from mmdet.evaluation.functional import INSTANCE_OFFSET

TYPES = ('matched', 'wrong_class', 'merged', 'split', 'missed',
         'false_positive')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the config the predictions used')
    parser.add_argument('results', help='pickle of tools/test.py --out')
    parser.add_argument('--json', help='also write the counts here')
    return parser.parse_args()


def image_errors(gt_ids, gt_segments, pred, num_classes, cat_to_label,
                 thing_labels):
    """Error types of one image: Counter of ``(type, 'thing'|'stuff')``."""
    counts = Counter()
    void = np.zeros(gt_ids.shape, bool)
    gt = {}
    for info in gt_segments:
        mask = gt_ids == info['id']
        if info.get('iscrowd', 0):
            void |= mask
        else:
            gt[info['id']] = (cat_to_label[info['category_id']], mask)
    void |= gt_ids == 0
    pred_segments = {
        int(i): mask
        for i in np.unique(pred)
        if i % INSTANCE_OFFSET != num_classes
        for mask in [(pred == i) & ~void]
    }
    matched_preds = set()
    for label, mask in gt.values():
        kind = 'thing' if label in thing_labels else 'stuff'
        area = mask.sum()
        best = {}  # same-class / other-class: (IoU, overlap, pred id)
        covered = 0
        for pred_id, pred_mask in pred_segments.items():
            overlap = (mask & pred_mask).sum()
            if overlap == 0:
                continue
            iou = overlap / (area + pred_mask.sum() - overlap)
            same = pred_id % INSTANCE_OFFSET == label
            key = 'same' if same else 'other'
            if iou > best.get(key, (0, 0, None))[0]:
                best[key] = (iou, overlap, pred_id)
            covered += overlap if same else 0
        same = best.get('same', (0, 0, None))
        if same[0] > 0.5:
            matched_preds.add(same[2])
            error = 'matched'
        elif best.get('other', (0, 0, None))[0] > 0.5:
            error = 'wrong_class'
        elif same[1] > area / 2:
            error = 'merged'
        elif covered > area / 2:
            error = 'split'
        else:
            error = 'missed'
        counts[error, kind] += 1
    for pred_id, pred_mask in pred_segments.items():
        if pred_id not in matched_preds and pred_mask.any():
            kind = ('thing' if pred_id % INSTANCE_OFFSET in thing_labels else
                    'stuff')
            counts['false_positive', kind] += 1
    return counts


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    evaluator = cfg.test_evaluator
    evaluator = evaluator[0] if isinstance(evaluator, list) else evaluator
    with open(evaluator.ann_file) as f:
        annotations = json.load(f)
    classes = [c['name'] for c in annotations['categories']]
    cat_to_label = {c['id']: i for i, c in enumerate(annotations['categories'])}
    thing_labels = {
        cat_to_label[c['id']]
        for c in annotations['categories'] if c['isthing']
    }
    by_image = {a['file_name']: a for a in annotations['annotations']}
    counts = Counter()
    for sample in load(args.results):
        name = osp.basename(sample['img_path']).rsplit('.', 1)[0] + '.png'
        gt_ids = rgb2id(
            mmcv.imread(
                osp.join(evaluator.seg_prefix, name), channel_order='rgb'))
        pred = sample['pred_panoptic_seg']['sem_seg'][0].numpy()
        counts += image_errors(gt_ids, by_image[name]['segments_info'], pred,
                               len(classes), cat_to_label, thing_labels)
    table = {
        kind: {error: counts[error, kind]
               for error in TYPES}
        for kind in ('thing', 'stuff')
    }
    print(f'{"":<8}' + ''.join(f'{error:>16}' for error in TYPES))
    for kind, row in table.items():
        print(f'{kind:<8}' + ''.join(f'{row[error]:>16}' for error in TYPES))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(table, f, indent=1)


if __name__ == '__main__':
    main()
