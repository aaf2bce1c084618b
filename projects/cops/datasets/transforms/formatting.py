"""Packing of the COPS inputs: mmdet's packing plus the COPS targets."""
import numpy as np
from mmcv.transforms import to_tensor
from mmengine.structures import PixelData

from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackCOPSInputs(PackDetInputs):
    """:class:`PackDetInputs` that also packs ``gt_cops_targets``.

    ``PackDetInputs`` only packs the keys it knows (boxes, labels, masks,
    ``gt_seg_map``) and drops the rest, so the stride-4 targets of
    :class:`GenerateCOPSTargets` are packed here into
    ``data_sample.gt_cops_targets``, a ``PixelData`` of the grid size
    ``[h, w]`` with the fields ``sem_seg`` ``[1, h, w]`` int64,
    ``sem_weights`` ``[1, h, w]``, ``pan_seg`` ``[1, h, w]`` int64,
    ``boundary`` and ``boundary_weights`` ``[2 * D, h, w]`` float32 (offset
    k, direction r at channel ``2 * k + r``), and ``gt_cops_pixel_targets``
    into ``data_sample.gt_cops_pixel_targets``, a ``PixelData`` of the
    input size with ``sem_seg`` ``[1, H, W]`` int64 and ``sem_weights``
    ``[1, H, W]`` float32. Without the keys it behaves exactly like
    ``PackDetInputs`` (test pipelines).
    """

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        targets = results.get('gt_cops_targets')
        if targets is not None:
            height, width = targets['sem_seg'].shape
            fields = {
                name:
                to_tensor(
                    np.ascontiguousarray(value.reshape(-1, height, width)))
                for name, value in targets.items()
            }
            packed['data_samples'].gt_cops_targets = PixelData(**fields)
        pixel_targets = results.get('gt_cops_pixel_targets')
        if pixel_targets is not None:
            packed['data_samples'].gt_cops_pixel_targets = PixelData(
                **{
                    name: to_tensor(np.ascontiguousarray(value[None]))
                    for name, value in pixel_targets.items()
                })
        return packed
