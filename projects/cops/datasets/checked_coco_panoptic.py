"""COCO-panoptic datasets that check their annotation file while loading."""
import os.path as osp
from typing import List

from mmdet.datasets import CocoPanopticDataset
from mmdet.registry import DATASETS


@DATASETS.register_module()
class CheckedCocoPanopticDataset(CocoPanopticDataset):
    """:class:`CocoPanopticDataset` that fails early on a broken annotation
    file, naming the file, image and value.

    Checked once when the annotation file is loaded, before any training:

    - every segment's ``category_id`` is one of the dataset's classes
      (mmdet raises a bare ``KeyError: <id>`` deep in the loading);
    - with local files (``backend_args`` None), every image and panoptic
      PNG exists (mmdet would fail on the first missing file only when it
      is drawn, possibly hours into training).

    Images without segments are kept (``filter_cfg`` decides): all their
    pixels are void. The per-image PNG content is checked by
    :class:`LoadCheckedPanopticAnnotations` in the pipeline.
    """

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Check the categories of one image's segments, then parse it as
        mmdet does."""
        img_info = raw_data_info['raw_img_info']
        for ann in raw_data_info['raw_ann_info']:
            if ann['category_id'] not in self.cat2label:
                classes = dict(zip(self.cat_ids, self.metainfo['classes']))
                raise ValueError(
                    f'{self.ann_file}: segment {ann["id"]} of image '
                    f'{img_info["file_name"]!r} has category_id '
                    f'{ann["category_id"]}, which is not a class of '
                    f'{type(self).__name__} (category id -> class: '
                    f'{classes})')
        return super().parse_data_info(raw_data_info)

    def load_data_list(self) -> List[dict]:
        """Load the annotation file and check that the files it names
        exist."""
        data_list = super().load_data_list()
        if self.backend_args is None:
            for data_info in data_list:
                for key in ('img_path', 'seg_map_path'):
                    path = data_info.get(key)
                    if path is not None and not osp.isfile(path):
                        raise FileNotFoundError(
                            f'{self.ann_file}: {key} of image id '
                            f'{data_info["img_id"]} not found: {path}')
        return data_list
