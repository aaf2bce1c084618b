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
from collections import Counter, defaultdict

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
    """Error types of one image: Counter of ``(type, 'thing'|'stuff')``.

    Overlaps and areas come from one joint histogram of the ground-truth and
    predicted ids (as panopticapi matches), not from a mask per pair.
    """
    crowd = [info['id'] for info in gt_segments if info.get('iscrowd', 0)]
    void = (gt_ids == 0) | np.isin(gt_ids, crowd)
    pred = np.where(void | (pred % INSTANCE_OFFSET == num_classes), -1, pred)
    pred_ids, pred_areas = np.unique(pred[pred >= 0], return_counts=True)
    pred_area = dict(zip(pred_ids.tolist(), pred_areas.tolist()))
    gt_ids_, gt_areas = np.unique(gt_ids[~void], return_counts=True)
    gt_area = dict(zip(gt_ids_.tolist(), gt_areas.tolist()))
    pairs, pair_overlaps = np.unique(
        np.stack([gt_ids[~void], pred[~void]]), axis=1, return_counts=True)
    overlaps = defaultdict(list)  # gt id -> [(pred id, overlap)]
    for (gt_id, pred_id), overlap in zip(pairs.T.tolist(),
                                         pair_overlaps.tolist()):
        if pred_id >= 0:
            overlaps[gt_id].append((pred_id, overlap))
    counts = Counter()
    matched_preds = set()
    for info in gt_segments:
        if info['id'] in crowd:
            continue
        label = cat_to_label[info['category_id']]
        area = gt_area.get(info['id'], 0)
        best = {}  # 'same' / 'other' class: (IoU, overlap, pred id)
        covered = 0
        for pred_id, overlap in overlaps[info['id']]:
            iou = overlap / (area + pred_area[pred_id] - overlap)
            key = 'same' if pred_id % INSTANCE_OFFSET == label else 'other'
            if iou > best.get(key, (0, 0, None))[0]:
                best[key] = (iou, overlap, pred_id)
            covered += overlap if key == 'same' else 0
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
        kind = 'thing' if label in thing_labels else 'stuff'
        counts[error, kind] += 1
    for pred_id in pred_area:
        if pred_id not in matched_preds:
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
