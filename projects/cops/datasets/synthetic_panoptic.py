"""The embedded synthetic panoptic dataset (COCO panoptic format)."""
from mmdet.registry import DATASETS
from .checked_coco_panoptic import CheckedCocoPanopticDataset


@DATASETS.register_module()
class SyntheticPanopticDataset(CheckedCocoPanopticDataset):
    """Synthetic panoptic images written by
    ``tools/dataset_converters/make_synthetic_panoptic.py``.

    Things first: labels 0-2 are the thing classes (shapes whose class shows
    in both colour and outline), labels 3-5 the stuff classes (textured
    background regions). The palette is also the base colour of each class in
    the images and the colour of its segments in the panoptic PNGs, so the
    generator reads its categories from here.
    """

    METAINFO = {
        'classes': ('disc', 'square', 'triangle', 'grass', 'water', 'tiles'),
        'thing_classes': ('disc', 'square', 'triangle'),
        'stuff_classes': ('grass', 'water', 'tiles'),
        'palette': [(220, 40, 40), (230, 200, 40), (190, 60, 200),
                    (60, 150, 60), (50, 90, 180), (150, 110, 80)],
    }
