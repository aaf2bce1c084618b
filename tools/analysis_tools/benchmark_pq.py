"""Time and compare the PQ backends of ``COPSPanopticMetric`` (panopticapi
via mmdet, hotcoco) on fabricated COCO-panoptic prediction / ground-truth
pairs.

Example (500 Cityscapes-size pairs)::

    python tools/analysis_tools/benchmark_pq.py --num-images 500 \
        --height 1024 --width 2048 --root /tmp/pq_pairs
"""
import argparse
import json
import os
import os.path as osp
import time

import numpy as np
from PIL import Image

# Cityscapes' 19 train classes: 11 stuff, 8 things
NUM_STUFF, NUM_THINGS = 11, 8


def _id2rgb(ids: np.ndarray) -> np.ndarray:
    """``[H, W]`` segment ids -> ``[H, W, 3]`` uint8 (COCO panoptic PNG)."""
    return np.stack([(ids >> (8 * c)) & 255 for c in range(3)],
                    -1).astype(np.uint8)


def _random_ellipses(rng, height, width, count, min_extent, max_extent):
    """``count`` boolean masks ``[H, W]`` given as slices + local masks."""
    ellipses = []
    for _ in range(count):
        h, w = rng.integers(min_extent, max_extent, 2)
        top = int(rng.integers(0, height - h))
        left = int(rng.integers(0, width - w))
        y, x = np.ogrid[:h, :w]
        mask = ((y - h / 2) / (h / 2))**2 + ((x - w / 2) / (w / 2))**2 <= 1
        ellipses.append((slice(top, top + h), slice(left, left + w), mask))
    return ellipses


def _fabricate_one(rng, height, width, categories):
    """One ground-truth and one predicted panoptic id map ``[H, W]`` with
    their segments: stuff from a coarse grid, thing ellipses, crowd and
    void regions; the prediction shifts, drops, adds and relabels segments
    so that every branch of the PQ matching occurs."""
    stuff_ids = [c['id'] for c in categories if not c['isthing']]
    thing_ids = [c['id'] for c in categories if c['isthing']]
    coarse = rng.choice(stuff_ids, (8, 16))
    stuff = np.kron(coarse, np.ones((-(-height // 8), -(-width // 16)),
                                    dtype=np.int64))[:height, :width]
    gt = np.zeros((height, width), np.int64)
    pred = np.zeros((height, width), np.int64)
    gt_segments, pred_segments = [], []
    next_id = 1

    def add(segments, ids, mask, category, iscrowd=0):
        nonlocal next_id
        ids[mask] = next_id
        segments.append(
            dict(id=next_id, category_id=int(category), iscrowd=iscrowd))
        next_id += 1

    # stuff: the prediction's boundaries moved by a few pixels, some classes
    # swapped
    shifted = np.roll(stuff, tuple(rng.integers(-8, 9, 2)), (0, 1))
    for category in np.unique(stuff):
        add(gt_segments, gt, stuff == category, category)
    for category in np.unique(shifted):
        label = category if rng.random() > 0.1 else rng.choice(stuff_ids)
        add(pred_segments, pred, shifted == category, label)
    extent = max(8, min(height, width) // 6)
    for rows, cols, mask in _random_ellipses(rng, height, width, 20,
                                             extent // 4, extent):
        category = rng.choice(thing_ids)
        crowd = int(rng.random() < 0.1)
        if rng.random() < 0.9:  # missed otherwise
            full = np.zeros_like(gt, dtype=bool)
            full[rows, cols] = mask
            add(gt_segments, gt, full, category, crowd)
        if rng.random() < 0.85:  # a (shifted, maybe relabelled) detection
            full = np.zeros_like(gt, dtype=bool)
            full[rows, cols] = mask
            shift = max(1, extent // 16)
            full = np.roll(full, tuple(rng.integers(-shift, shift + 1, 2)),
                           (0, 1))
            label = category if rng.random() > 0.15 else rng.choice(thing_ids)
            add(pred_segments, pred, full, label)
    # void: a band in the ground truth, a block in the prediction
    gt[:, :max(1, width // 50)] = 0
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    pred[top:top + height // 10, left:left + width // 10] = 0

    def present(segments, ids):
        counts = np.bincount(ids.ravel(), minlength=next_id)
        return [dict(s, area=int(counts[s['id']])) for s in segments
                if counts[s['id']] > 0]

    return gt, present(gt_segments, gt), pred, present(pred_segments, pred)


def fabricate_pairs(root: str, num_images: int, height: int, width: int,
                    seed: int = 0) -> dict:
    """Write ``num_images`` fabricated pairs in the COCO panoptic layout.

    ``root/gt.json`` + ``root/gt/`` and ``root/pred.json`` + ``root/pred/``
    (category ids 1..19, 8 things); returns the four paths (keys
    ``gt_json``, ``pred_json``, ``gt_folder``, ``pred_folder``).
    """
    categories = [
        dict(id=i + 1, name=f'class{i}', isthing=int(i >= NUM_STUFF))
        for i in range(NUM_STUFF + NUM_THINGS)
    ]
    paths = dict(
        gt_json=osp.join(root, 'gt.json'),
        pred_json=osp.join(root, 'pred.json'),
        gt_folder=osp.join(root, 'gt'),
        pred_folder=osp.join(root, 'pred'))
    os.makedirs(paths['gt_folder'], exist_ok=True)
    os.makedirs(paths['pred_folder'], exist_ok=True)
    rng = np.random.default_rng(seed)
    images, gt_anns, pred_anns = [], [], []
    for index in range(num_images):
        gt, gt_segments, pred, pred_segments = _fabricate_one(
            rng, height, width, categories)
        name = f'{index:06d}.png'
        Image.fromarray(_id2rgb(gt)).save(osp.join(paths['gt_folder'], name))
        Image.fromarray(_id2rgb(pred)).save(
            osp.join(paths['pred_folder'], name))
        images.append(
            dict(id=index, file_name=name, height=height, width=width))
        gt_anns.append(
            dict(image_id=index, file_name=name, segments_info=gt_segments))
        pred_anns.append(
            dict(image_id=index, file_name=name,
                 segments_info=pred_segments))
    with open(paths['gt_json'], 'w') as f:
        json.dump(
            dict(images=images, annotations=gt_anns, categories=categories),
            f)
    with open(paths['pred_json'], 'w') as f:
        json.dump(dict(annotations=pred_anns), f)
    return paths


def _pq_summary(stat, categories: dict) -> dict:
    """panopticapi's ``{All, Things, Stuff}`` averages and the per-category
    ``{pq, sq, rq}`` of a PQStat."""
    summary = {}
    for name, isthing in (('All', None), ('Things', True), ('Stuff', False)):
        summary[name], per_class = stat.pq_average(categories, isthing)
        if name == 'All':
            summary['per_class'] = per_class
    return summary


def panopticapi_pq(paths: dict) -> dict:
    """PQ of the pairs with mmdet's ``pq_compute_single_core`` (panopticapi's
    matching, one process; what ``COPSPanopticMetric`` runs per image with
    ``backend='panopticapi'``)."""
    import contextlib
    import io

    from mmdet.evaluation.functional import pq_compute_single_core
    with open(paths['gt_json']) as f:
        gt = json.load(f)
    with open(paths['pred_json']) as f:
        pred = json.load(f)
    categories = {c['id']: c for c in gt['categories']}
    with contextlib.redirect_stdout(io.StringIO()):  # its progress prints
        stat = pq_compute_single_core(
            0, list(zip(gt['annotations'], pred['annotations'])),
            paths['gt_folder'], paths['pred_folder'], categories)
    return _pq_summary(stat, categories)


def hotcoco_pq(paths: dict, per_image: bool = False) -> dict:
    """PQ of the pairs with hotcoco's ``PanopticEval``: one call over all
    pairs, or (``per_image``) one call per pair summed into a PQStat, as
    ``COPSPanopticMetric`` does with ``backend='hotcoco'``."""
    from hotcoco.panoptic import PanopticEval
    from panopticapi.evaluation import PQStat
    with open(paths['gt_json']) as f:
        gt = json.load(f)
    with open(paths['pred_json']) as f:
        pred = json.load(f)
    if per_image:
        groups = [([image], [gt_ann], [pred_ann]) for image, gt_ann, pred_ann
                  in zip(gt['images'], gt['annotations'], pred['annotations'])]
    else:
        groups = [(gt['images'], gt['annotations'], pred['annotations'])]
    stat = PQStat()
    for images, gt_anns, pred_anns in groups:
        evaluation = PanopticEval(
            dict(
                images=images,
                annotations=gt_anns,
                categories=gt['categories']),
            dict(annotations=pred_anns),
            gt_folder=paths['gt_folder'],
            pred_folder=paths['pred_folder'])
        evaluation.evaluate()
        for cat_id, counts in evaluation.results()['per_class'].items():
            entry = stat[int(cat_id)]
            entry.iou += counts['iou']
            entry.tp += counts['tp']
            entry.fp += counts['fp']
            entry.fn += counts['fn']
    return _pq_summary(stat, {c['id']: c for c in gt['categories']})


def max_difference(a: dict, b: dict) -> float:
    """Largest absolute difference of the pq / sq / rq of two summaries
    (groups and categories)."""
    pairs = [(a[g], b[g]) for g in ('All', 'Things', 'Stuff')]
    pairs += [(a['per_class'][c], b['per_class'][c]) for c in a['per_class']]
    return max(
        abs(x[key] - y[key]) for x, y in pairs for key in ('pq', 'sq', 'rq'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', required=True,
                        help='folder of the pairs (written if absent)')
    parser.add_argument('--num-images', type=int, default=500)
    parser.add_argument('--height', type=int, default=1024)
    parser.add_argument('--width', type=int, default=2048)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    gt_json = osp.join(args.root, 'gt.json')
    if osp.isfile(gt_json):
        with open(gt_json) as f:
            images = json.load(f)['images']
        if len(images) != args.num_images or (
                images[0]['height'], images[0]['width']) != (args.height,
                                                             args.width):
            raise SystemExit(f'{args.root} holds other pairs; use a new '
                             '--root')
        paths = dict(
            gt_json=gt_json,
            pred_json=osp.join(args.root, 'pred.json'),
            gt_folder=osp.join(args.root, 'gt'),
            pred_folder=osp.join(args.root, 'pred'))
    else:
        start = time.perf_counter()
        paths = fabricate_pairs(args.root, args.num_images, args.height,
                                args.width, args.seed)
        print(f'fabricated {args.num_images} pairs of {args.height} x '
              f'{args.width} in {time.perf_counter() - start:.1f} s')
    timings, summaries = {}, {}
    for name, function in (
        ('panopticapi (mmdet pq_compute_single_core)', panopticapi_pq),
        ('hotcoco, one call', hotcoco_pq),
        ('hotcoco, one call per image (COPSPanopticMetric)',
         lambda p: hotcoco_pq(p, per_image=True)),
    ):
        start = time.perf_counter()
        summaries[name] = function(paths)
        timings[name] = time.perf_counter() - start
    baseline = next(iter(timings))
    for name, seconds in timings.items():
        print(f'{name:50s} {seconds:8.2f} s  '
              f'{seconds / args.num_images * 1000:7.1f} ms/image  '
              f'x{timings[baseline] / seconds:5.1f}  '
              f'max |diff| {max_difference(summaries[baseline], summaries[name]):.1e}'
              f'  PQ {100 * summaries[name]["All"]["pq"]:.4f}')


if __name__ == '__main__':
    main()
