"""Image and panoptic-annotation loaders that reject broken files clearly.

mmcv's ``LoadImageFromFile`` reports an undecodable file with an
``assert`` (gone under ``python -O``, then a crash further down) and mmdet's
``LoadPanopticAnnotations`` silently turns panoptic-PNG segments missing
from the JSON into void pixels and JSON segments missing from the PNG into
empty instance masks. These subclasses load the same way and raise
``ValueError`` naming the file instead, or, when asked to, skip with a
warning.
"""
import logging
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine.fileio import get
from mmengine.logging import print_log

from mmdet.datasets.transforms import LoadPanopticAnnotations
from mmdet.registry import TRANSFORMS
from mmdet.structures.mask import BitmapMasks

VOID_SEGMENT_ID = 0  # panoptic PNG id of unlabelled pixels
SEG_IGNORE_INDEX = 255  # gt_seg_map value of void pixels (as mmdet)


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """:class:`mmcv.transforms.LoadImageFromFile` with clear errors.

    A missing file raises ``FileNotFoundError`` and a file that does not
    decode to an image (corrupted, truncated, not an image) ``ValueError``,
    both naming the file. With ``ignore_empty=True`` such an image is
    skipped with a warning instead (the transform returns None, and
    mmengine's training dataset draws another image; test datasets raise).
    Arguments as for ``LoadImageFromFile``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            try:
                img_bytes = get(filename, backend_args=self.backend_args)
            except FileNotFoundError:
                raise FileNotFoundError(
                    f'image file not found: {filename}') from None
            img = mmcv.imfrombytes(
                img_bytes, flag=self.color_type, backend=self.imdecode_backend)
            if img is None or img.size == 0:
                raise ValueError(
                    f'cannot decode image file {filename} '
                    f'({len(img_bytes)} bytes): corrupted or not an image')
        except (OSError, ValueError) as error:
            if not self.ignore_empty:
                raise
            print_log(
                f'skipped: {error}', logger='current', level=logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadCheckedPanopticAnnotations(LoadPanopticAnnotations):
    """:class:`mmdet.datasets.transforms.LoadPanopticAnnotations` that checks
    the panoptic PNG against the JSON segments and the image.

    Checked: the PNG has the image's size; every non-void PNG id
    (``R + 256 G + 256^2 B`` != 0) is a JSON segment of the image; every JSON
    segment occurs in the PNG. An image without segments and an all-void PNG
    is valid (every pixel void: trained on nothing, evaluated as void).

    Args:
        on_mismatch (str): ``'error'`` raises ``ValueError`` naming the PNG
            and the ids; ``'void'`` logs a warning and keeps mmdet's
            behaviour (unknown PNG ids are void, JSON segments without
            pixels give empty masks). Size mismatches always raise.
        **kwargs: Arguments of ``LoadPanopticAnnotations``.
    """

    def __init__(self, on_mismatch: str = 'error', **kwargs) -> None:
        if on_mismatch not in ('error', 'void'):
            raise ValueError(
                f"on_mismatch must be 'error' or 'void', got {on_mismatch!r}")
        super().__init__(**kwargs)
        self.on_mismatch = on_mismatch

    def check_segment_ids(self, pan_ids: np.ndarray, results: dict) -> None:
        """Compare the ids of the PNG ``[H, W]`` with ``segments_info``."""
        path = results['seg_map_path']
        if 'ori_shape' in results and pan_ids.shape != tuple(
                results['ori_shape']):
            raise ValueError(
                f'panoptic PNG {path} is {pan_ids.shape[0]}x'
                f'{pan_ids.shape[1]} but its image {results.get("img_path")} '
                f'is {results["ori_shape"][0]}x{results["ori_shape"][1]}')
        png_ids = set(np.unique(pan_ids).tolist()) - {VOID_SEGMENT_ID}
        json_ids = {segment['id'] for segment in results['segments_info']}
        problems = []
        if png_ids - json_ids:
            problems.append(f'ids {sorted(png_ids - json_ids)} are in the '
                            'PNG but not in the JSON segments_info')
        if json_ids - png_ids:
            problems.append(f'JSON segments {sorted(json_ids - png_ids)} '
                            'have no pixel in the PNG')
        if not problems:
            return
        message = f'panoptic PNG {path}: ' + '; '.join(problems)
        if self.on_mismatch == 'error':
            raise ValueError(message)
        print_log(
            message + ' (treated as void / empty)',
            logger='current',
            level=logging.WARNING)

    def transform(self, results: dict) -> dict:
        """Load the annotations; an image without any (no
        ``segments_info``: inference through mmdet's ``inference_detector``
        or ``DetInferencer``) passes unchanged."""
        if 'segments_info' not in results:
            return results
        return super().transform(results)

    def _load_masks_and_semantic_segs(self, results: dict) -> None:
        """Load as mmdet does, checking the PNG first (see class doc)."""
        if results.get('seg_map_path') is None:
            return
        path = results['seg_map_path']
        pan_png = mmcv.imfrombytes(
            get(path, backend_args=self.backend_args),
            flag='color',
            channel_order='rgb')
        if pan_png is None:
            raise ValueError(
                f'cannot decode panoptic PNG {path}: corrupted or not an '
                'image')
        pan_ids = self.rgb2id(pan_png)
        self.check_segment_ids(pan_ids, results)
        gt_seg = np.full_like(pan_ids, SEG_IGNORE_INDEX)  # mmdet's dtype
        gt_masks = []
        for segment in results['segments_info']:
            mask = pan_ids == segment['id']
            gt_seg[mask] = segment['category']
            if segment.get('is_thing'):
                gt_masks.append(mask.astype(np.uint8))
        if self.with_mask:
            height, width = pan_ids.shape
            results['gt_masks'] = BitmapMasks(gt_masks, height, width)
        if self.with_seg:
            results['gt_seg_map'] = gt_seg
