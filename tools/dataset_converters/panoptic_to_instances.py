"""Write the COCO instances JSON of a COCO panoptic dataset's thing segments.

mmdet's ``CocoMetric`` (segm AP of the COPS instance masks) needs a COCO
instances file. COCO ships one (``annotations/instances_val2017.json``);
for other panoptic datasets this script derives it from the panoptic JSON
and PNGs (RLE masks, see
:func:`projects.cops.evaluation.panoptic_to_instances`). The synthetic
generator and the Cityscapes converter already call it; run it by hand for
any other dataset in COCO panoptic format.

Example::

    python tools/dataset_converters/panoptic_to_instances.py \\
        data/cityscapes/annotations/cityscapes_panoptic_val.json \\
        data/cityscapes/annotations/cityscapes_panoptic_val \\
        data/cityscapes/annotations/cityscapes_instances_val.json
"""
import argparse
import os.path as osp

import mmengine
from mmengine.logging import print_log

from projects.cops.evaluation import panoptic_to_instances


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='COCO panoptic -> COCO instances (thing segments)')
    parser.add_argument('panoptic_json', help='COCO panoptic JSON file')
    parser.add_argument('panoptic_dir', help='folder of the panoptic PNGs')
    parser.add_argument('out_json', help='COCO instances JSON to write')
    args = parser.parse_args()
    if not osp.isfile(args.panoptic_json):
        parser.error(f'panoptic_json not found: {args.panoptic_json}')
    if not osp.isdir(args.panoptic_dir):
        parser.error(f'panoptic_dir not found: {args.panoptic_dir}')
    return args


def main():
    args = parse_args()
    instances = panoptic_to_instances(
        mmengine.load(args.panoptic_json), args.panoptic_dir)
    mmengine.dump(instances, args.out_json)
    print_log(
        f'{len(instances["annotations"])} thing segments of '
        f'{len(instances["images"])} images -> {args.out_json}',
        logger='current')


if __name__ == '__main__':
    main()
