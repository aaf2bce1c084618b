"""COCO panoptic annotations to COCO instance annotations (RLE masks).

mmdet's ``CocoMetric`` (``metric='segm'``) reads ground truth from a COCO
*instances* file, which COCO ships (``instances_val2017.json``) but Cityscapes
and the synthetic data do not; panopticapi-lite has no converter for it (the
full panopticapi's ``panoptic2detection_coco_format`` is not packaged), so it
is done here with pycocotools.
"""
import os.path as osp
from typing import Optional

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
from mmengine.fileio import get
from panopticapi.utils import rgb2id


def panoptic_to_instances(panoptic: dict,
                          seg_dir: str,
                          backend_args: Optional[dict] = None) -> dict:
    """Instance annotations of the thing segments of a COCO panoptic dataset.

    The categories are the thing categories in the order of the panoptic
    JSON. ``CocoMetric`` maps label ``i`` to the ``i``-th category whose name
    is a dataset class, in file order, so this order must be the dataset's
    thing-label order (true for the COCO, Cityscapes and synthetic
    converters of this project, which list things first in label order).

    Args:
        panoptic (dict): COCO panoptic JSON content (``images``,
            ``annotations`` with ``file_name`` and ``segments_info``,
            ``categories`` with ``isthing``).
        seg_dir (str): Folder of the panoptic PNGs (segment id =
            ``R + 256 G + 256^2 B``).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        dict: COCO instances JSON content: the same ``images``, the thing
        ``categories`` and one annotation per thing segment with
        ``segmentation`` (RLE, ``counts`` as str), ``area``, ``bbox``
        (``[x, y, w, h]``), ``iscrowd`` and a file-wide unique ``id``.

    Raises:
        ValueError: a PNG does not decode, or a thing segment of the JSON
            has no pixel in its PNG.
    """
    for key in ('images', 'annotations', 'categories'):
        if key not in panoptic:
            raise ValueError(f'panoptic JSON has no {key!r} entry')
    categories = [cat for cat in panoptic['categories'] if cat.get('isthing')]
    thing_ids = {cat['id'] for cat in categories}
    annotations = []
    for image_ann in panoptic['annotations']:
        things = [
            segment for segment in image_ann['segments_info']
            if segment['category_id'] in thing_ids
        ]
        if not things:
            continue
        png_path = osp.join(seg_dir, image_ann['file_name'])
        png = mmcv.imfrombytes(
            get(png_path, backend_args=backend_args),
            flag='color',
            channel_order='rgb')
        if png is None:
            raise ValueError(f'cannot decode panoptic PNG {png_path}')
        pan_ids = rgb2id(png)
        for segment in things:
            mask = np.asfortranarray(pan_ids == segment['id'], dtype=np.uint8)
            area = int(mask.sum())
            if area == 0:
                raise ValueError(
                    f'{png_path}: thing segment {segment["id"]} of the JSON '
                    'has no pixel in the PNG')
            rle = mask_utils.encode(mask)
            bbox = mask_utils.toBbox(rle).tolist()
            rle['counts'] = rle['counts'].decode()
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_ann['image_id'],
                    category_id=segment['category_id'],
                    segmentation=rle,
                    area=area,
                    bbox=bbox,
                    iscrowd=int(segment.get('iscrowd', 0))))
    return dict(
        info=panoptic.get('info', {}),
        licenses=panoptic.get('licenses', []),
        images=panoptic['images'],
        annotations=annotations,
        categories=[{
            key: cat[key]
            for key in ('id', 'name', 'supercategory') if key in cat
        } for cat in categories])
