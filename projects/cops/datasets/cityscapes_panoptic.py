"""Cityscapes panoptic segmentation in COCO panoptic format."""
import os.path as osp

from mmdet.registry import DATASETS
from .checked_coco_panoptic import CheckedCocoPanopticDataset


@DATASETS.register_module()
class CityscapesPanopticDataset(CheckedCocoPanopticDataset):
    """The 19 Cityscapes evaluation classes, converted to COCO panoptic format
    by ``tools/dataset_converters/cityscapes.py``.

    Class order: the 8 thing classes first (labels 0-7), then the 11 stuff
    classes (labels 8-18), each group in Cityscapes trainId order. mmdet's
    panoptic code relies on this order: ``LoadPanopticAnnotations`` documents
    things as labels ``0 .. num_things - 1``, and ``CocoPanopticMetric``
    writes a prediction's segment ids as ``label + instance *
    INSTANCE_OFFSET`` with VOID pixels as 0, so a stuff class at label 0
    (road in trainId order) would share its id with VOID and absorb the void
    pixels. The category ids in the JSON stay the Cityscapes trainIds; labels
    follow the order of the JSON's category list, which the converter writes
    in this order.

    Images stay in the official layout ``leftImg8bit/<split>/<city>/``. The
    JSON's image file names are flat,
    ``<city>_<seq>_<frame>_leftImg8bit.png``, because mmdet finds the
    panoptic PNG by the image's base name (dataset and metric alike), so only
    the image path gets the city folder, taken from the file name.
    """

    METAINFO = {
        'classes':
        ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
         'bicycle', 'road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
         'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky'),
        'thing_classes': ('person', 'rider', 'car', 'truck', 'bus', 'train',
                          'motorcycle', 'bicycle'),
        'stuff_classes': ('road', 'sidewalk', 'building', 'wall', 'fence',
                          'pole', 'traffic light', 'traffic sign',
                          'vegetation', 'terrain', 'sky'),
        'palette': [(220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
                    (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
                    (128, 64, 128), (244, 35, 232), (70, 70, 70),
                    (102, 102, 156), (190, 153, 153), (153, 153, 153),
                    (250, 170, 30), (220, 220, 0), (107, 142, 35),
                    (152, 251, 152), (70, 130, 180)],
    }

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one image like mmdet, then put the image path in its city
        folder.

        Args:
            raw_data_info (dict): ``raw_img_info`` (the JSON image entry) and
                ``raw_ann_info`` (its segments).

        Returns:
            dict: mmdet's panoptic data info with ``img_path`` =
            ``data_prefix['img']/<city>/<file_name>``.
        """
        data_info = super().parse_data_info(raw_data_info)
        file_name = raw_data_info['raw_img_info']['file_name']
        name_parts = file_name.rsplit('_', 3)
        if len(name_parts) != 4 or osp.basename(file_name) != file_name:
            raise ValueError(
                f'{self.ann_file}: image file_name {file_name!r} is not a '
                "Cityscapes name '<city>_<seq>_<frame>_leftImg8bit.png'")
        data_info['img_path'] = osp.join(self.data_prefix['img'],
                                         name_parts[0], file_name)
        return data_info
