"""mmdet's panoptic quality metric, without its side effect on the outputs."""
from typing import Sequence

from mmdet.evaluation import CocoPanopticMetric
from mmdet.registry import METRICS


def _with_own_panoptic_map(sample: dict) -> dict:
    """A shallow copy of ``sample`` whose ``pred_panoptic_seg.sem_seg`` is a
    copy on the CPU.

    mmdet's ``CocoPanopticMetric._parse_predictions`` writes VOID (0) into
    ``pred_panoptic_seg.sem_seg.cpu().numpy()``; for a CPU tensor that array
    is the model's output itself, so the ``--out`` pickle, ``--show-dir``
    images and the visualization hook, which read the same data samples after
    the evaluator, would show a class-0 segment where the model predicted
    void. A GPU tensor is copied by ``.cpu()`` already.
    """
    panoptic = sample['pred_panoptic_seg']
    seg = panoptic['sem_seg']
    seg = seg.clone() if seg.device.type == 'cpu' else seg.cpu()
    return {**sample, 'pred_panoptic_seg': {**panoptic, 'sem_seg': seg}}


@METRICS.register_module()
class CopsPanopticMetric(CocoPanopticMetric):
    """:class:`mmdet.evaluation.CocoPanopticMetric` (same arguments, keys
    ``coco_panoptic/PQ`` ...) that leaves the data samples it evaluates
    untouched."""

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Evaluate copies of the predicted panoptic maps ``[1, H, W]``."""
        super().process(data_batch,
                        [_with_own_panoptic_map(s) for s in data_samples])
