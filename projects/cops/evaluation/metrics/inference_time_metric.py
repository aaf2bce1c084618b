"""Mean inference time per image, split into the stages of COPS."""
from typing import Dict, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet.registry import METRICS


@METRICS.register_module()
class InferenceTimeMetric(BaseMetric):
    """Mean seconds per image of each inference stage.

    :class:`COPS` ``predict`` writes into every data sample's metainfo the
    wall-clock seconds of its batch divided by the batch size, one key
    ``time_<stage>`` per stage: ``network`` (backbone and heads),
    ``solver`` (AMWC costs and the solver) and ``postprocess`` (panoptic,
    semantic and instance outputs at the original size). mmengine's own
    timer hook measures whole iterations (data loading included), which
    cannot tell the network from the solver, hence this metric.

    Args:
        stages (Sequence[str]): Stages to report (``time_<stage>`` keys).
        collect_device (str): Device to gather results on (``'cpu'``).
        prefix (str, optional): Metric name prefix; ``'sec_per_img'`` when
            None, giving ``sec_per_img/network`` etc. and
            ``sec_per_img/total`` (sum of the stages).
    """

    default_prefix = 'sec_per_img'

    def __init__(self,
                 stages: Sequence[str] = ('network', 'solver', 'postprocess'),
                 collect_device: str = 'cpu',
                 prefix: str = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not stages:
            raise ValueError('stages must name at least one stage')
        self.stages = tuple(stages)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Collect the per-image stage times ``[S]`` of each sample."""
        for sample in data_samples:
            missing = [
                f'time_{stage}' for stage in self.stages
                if f'time_{stage}' not in sample
            ]
            if missing:
                raise ValueError(
                    f'data sample of {sample.get("img_path")} has no '
                    f'{missing} in its metainfo: InferenceTimeMetric needs a '
                    'detector that records its stage times (COPS.predict)')
            self.results.append(
                [float(sample[f'time_{stage}']) for stage in self.stages])

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Mean over the images of each stage and of their sum."""
        times = np.asarray(
            results, dtype=np.float64).reshape(-1, len(self.stages))
        means = dict(zip(self.stages, times.mean(0).tolist()))
        means['total'] = float(times.sum(1).mean())
        MMLogger.get_current_instance().info(
            f'seconds per image over {len(times)} images: ' +
            ', '.join(f'{name} {value:.4f}' for name, value in means.items()))
        return means
