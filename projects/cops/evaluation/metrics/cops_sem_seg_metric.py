"""mmdet's semantic segmentation metric with the overall pixel accuracy."""
from typing import Dict

import numpy as np

from mmdet.evaluation import SemSegMetric
from mmdet.registry import METRICS


@METRICS.register_module()
class COPSSemSegMetric(SemSegMetric):
    """:class:`mmdet.evaluation.SemSegMetric` (same arguments and keys) whose
    ``aAcc`` is the fraction of labelled pixels predicted right.

    mmdet 3.3 computes ``aAcc`` as ``nanmean(intersect / label)`` over the
    classes, i.e. the same number as ``mAcc``; here it is
    ``sum(intersect) / sum(label)`` (mmseg's definition), in percent rounded
    to 2 decimals like the other keys.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """mmdet's metrics with ``aAcc`` recomputed from the per-class pixel
        counts ``[C]`` of each image."""
        metrics = super().compute_metrics(results)
        if 'aAcc' in metrics:  # absent with format_only
            intersect = sum(r['area_intersect'] for r in results).sum()
            labelled = sum(r['area_label'] for r in results).sum()
            metrics['aAcc'] = np.round(float(intersect / labelled) * 100, 2)
        return metrics
