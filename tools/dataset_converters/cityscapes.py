"""Convert Cityscapes (official layout) to COCO panoptic format.

The conversion itself is cityscapesscripts'
``createPanopticImgs.convert2panoptic`` with trainIds as category ids (the
19 evaluation classes; classes with ``ignoreInEval`` become void). This
script checks the input, runs it per split and adapts its output to
:class:`CityscapesPanopticDataset` and mmdet's ``CocoPanopticMetric``:

- the categories are listed in the dataset's class order (things first),
  since mmdet derives labels from the order of the JSON's categories;
- image ids become integers 1..N (in name order); image file names are the
  flat ``<city>_<seq>_<frame>_leftImg8bit.png`` (cityscapesscripts 2.3.0
  writes ``.._gtFine_leftImg8bit.png``, a file that does not exist);
- each panoptic PNG is renamed after its image (``.._leftImg8bit.png``),
  the name under which mmdet's dataset and metric look it up.

It also writes semantic maps from the ``*_gtFine_labelIds.png`` files
(uint8 PNG, the dataset's labels 0-18, 255 = void). mmdet's
``LoadPanopticAnnotations`` does not need them (it derives ``gt_seg_map``
from the panoptic PNG, with the same values); they serve semantic
segmentation tools. Input and output (``OUT_DIR`` defaults to the root)::

    CITYSCAPES_ROOT/leftImg8bit/{split}/<city>/*_leftImg8bit.png
    CITYSCAPES_ROOT/gtFine/{split}/<city>/*_gtFine_instanceIds.png
    CITYSCAPES_ROOT/gtFine/{split}/<city>/*_gtFine_labelIds.png
    OUT_DIR/annotations/cityscapes_panoptic_{split}.json
    OUT_DIR/annotations/cityscapes_panoptic_{split}/*_leftImg8bit.png
    OUT_DIR/annotations/cityscapes_semantic_{split}/*_leftImg8bit.png
    OUT_DIR/annotations/cityscapes_instances_{split}.json  (COCO instances
        of the thing segments, RLE masks, for mmdet's CocoMetric segm AP)

Example::

    python tools/dataset_converters/cityscapes.py data/cityscapes \\
        --splits train val
"""
import argparse
import glob
import json
import os
import os.path as osp
import tempfile
from typing import List, Sequence

import mmcv
import numpy as np
from cityscapesscripts.helpers.labels import labels as cityscapes_labels
from cityscapesscripts.preparation.createPanopticImgs import convert2panoptic
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist, track_iter_progress

from projects.cops.datasets import CityscapesPanopticDataset
from projects.cops.evaluation import panoptic_to_instances

CLASSES = CityscapesPanopticDataset.METAINFO['classes']
VOID_LABEL = 255
IMAGE_SUFFIX = '_leftImg8bit.png'
INSTANCE_SUFFIX = '_gtFine_instanceIds.png'
LABEL_SUFFIX = '_gtFine_labelIds.png'


def find_annotated_images(root: str, split: str) -> List[str]:
    """Return the sorted ``*_gtFine_instanceIds.png`` paths of a split.

    Raises:
        FileNotFoundError: naming the missing root or split folder, or the
            first missing ``*_leftImg8bit.png`` / ``*_gtFine_labelIds.png``
            partner file.
    """
    image_dir = osp.join(root, 'leftImg8bit', split)
    gt_dir = osp.join(root, 'gtFine', split)
    if not osp.isdir(root):
        raise FileNotFoundError(f'Cityscapes root {root!r} does not exist')
    for folder in (image_dir, gt_dir):
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'Cityscapes folder {folder!r} does not exist; expected the '
                'official layout leftImg8bit/<split>/<city>/ and '
                'gtFine/<split>/<city>/')
    instance_files = sorted(
        glob.glob(osp.join(gt_dir, '*', '*' + INSTANCE_SUFFIX)))
    if not instance_files:
        raise FileNotFoundError(
            f'no *{INSTANCE_SUFFIX} files in {gt_dir!r}/<city>/')
    for instance_file in instance_files:
        city = osp.basename(osp.dirname(instance_file))
        stem = osp.basename(instance_file)[:-len(INSTANCE_SUFFIX)]
        for partner in (osp.join(image_dir, city, stem + IMAGE_SUFFIX),
                        osp.join(gt_dir, city, stem + LABEL_SUFFIX)):
            if not osp.isfile(partner):
                raise FileNotFoundError(
                    f'{partner!r} is missing (partner of {instance_file!r})')
    return instance_files


def label_id_lookup() -> np.ndarray:
    """Map Cityscapes label ids to dataset labels: uint8 [256], 255 = void."""
    lookup = np.full(256, VOID_LABEL, dtype=np.uint8)
    for label in cityscapes_labels:
        if not label.ignoreInEval:
            lookup[label.id] = CLASSES.index(label.name)
    return lookup


def adapt_panoptic_json(coco: dict, png_dir: str, out_png_dir: str) -> dict:
    """Reorder categories, renumber images and rename the panoptic PNGs.

    Args:
        coco (dict): cityscapesscripts' JSON (string image ids).
        png_dir (str): where cityscapesscripts wrote the panoptic PNGs.
        out_png_dir (str): where the PNGs go, named after their images.

    Returns:
        dict: the JSON for :class:`CityscapesPanopticDataset`.
    """
    categories = {category['name']: category
                  for category in coco['categories']}
    if set(categories) != set(CLASSES):
        raise ValueError(
            f'cityscapesscripts categories {sorted(categories)} differ from '
            f'the dataset classes {sorted(CLASSES)}')
    # cityscapesscripts' image ids are the stems '<city>_<seq>_<frame>'; its
    # image file names keep a stray '_gtFine' (<stem>_gtFine_leftImg8bit.png).
    stems = sorted(image['id'] for image in coco['images'])
    new_ids = {stem: index for index, stem in enumerate(stems, 1)}
    images = [
        dict(image, id=new_ids[image['id']],
             file_name=image['id'] + IMAGE_SUFFIX)
        for image in sorted(coco['images'], key=lambda image: image['id'])
    ]
    annotations = []
    for annotation in sorted(
            coco['annotations'], key=lambda item: item['image_id']):
        stem = annotation['image_id']
        os.replace(
            osp.join(png_dir, annotation['file_name']),
            osp.join(out_png_dir, stem + IMAGE_SUFFIX))
        annotations.append(
            dict(
                image_id=new_ids[stem],
                file_name=stem + IMAGE_SUFFIX,
                segments_info=annotation['segments_info']))
    return dict(
        images=images,
        annotations=annotations,
        categories=[categories[name] for name in CLASSES])


def write_semantic_maps(instance_files: Sequence[str], out_dir: str) -> None:
    """Write ``labelIds`` as dataset labels (uint8 PNG, 255 = void)."""
    lookup = label_id_lookup()
    for instance_file in track_iter_progress(list(instance_files)):
        stem = osp.basename(instance_file)[:-len(INSTANCE_SUFFIX)]
        label_ids = mmcv.imread(
            osp.join(osp.dirname(instance_file), stem + LABEL_SUFFIX),
            flag='unchanged')
        mmcv.imwrite(lookup[label_ids], osp.join(out_dir, stem + IMAGE_SUFFIX))


def convert_split(root: str, out_dir: str, split: str) -> str:
    """Convert one split; return the path of its panoptic JSON."""
    instance_files = find_annotated_images(root, split)
    ann_dir = osp.join(out_dir, 'annotations')
    png_dir = osp.join(ann_dir, f'cityscapes_panoptic_{split}')
    semantic_dir = osp.join(ann_dir, f'cityscapes_semantic_{split}')
    for folder in (png_dir, semantic_dir):
        mkdir_or_exist(folder)
    with tempfile.TemporaryDirectory(dir=ann_dir) as work_dir:
        convert2panoptic(
            cityscapesPath=osp.join(root, 'gtFine'),
            outputFolder=work_dir,
            useTrainId=True,
            setNames=[split])
        base_name = f'cityscapes_panoptic_{split}_trainId'
        with open(osp.join(work_dir, base_name + '.json')) as f:
            coco = json.load(f)
        coco = adapt_panoptic_json(coco, osp.join(work_dir, base_name),
                                   png_dir)
    json_file = osp.join(ann_dir, f'cityscapes_panoptic_{split}.json')
    with open(json_file, 'w') as f:
        json.dump(coco, f)
    with open(osp.join(ann_dir, f'cityscapes_instances_{split}.json'),
              'w') as f:
        json.dump(panoptic_to_instances(coco, png_dir), f)
    write_semantic_maps(instance_files, semantic_dir)
    print_log(
        f'{split}: {len(coco["images"])} images -> {json_file}',
        logger='current')
    return json_file


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert Cityscapes to COCO panoptic format')
    parser.add_argument('cityscapes_path', help='Cityscapes root folder')
    parser.add_argument(
        '--out-dir',
        help='output folder (annotations/ goes inside); defaults to the root')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=['train', 'val'],
        help='splits to convert')
    return parser.parse_args()


def main():
    args = parse_args()
    out_dir = args.out_dir or args.cityscapes_path
    for split in args.splits:
        convert_split(args.cityscapes_path, out_dir, split)


if __name__ == '__main__':
    main()
