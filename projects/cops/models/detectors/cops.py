"""The COPS panoptic segmentation detector (network + AMWC inference)."""
import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from mmcv_ops import AMWCResult, edge_values_to_grid_maps
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.mask import mask2bbox
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from ..utils import (amwc_to_panoptic, grid_problems, solve_grid_amwc,
                     stack_grid_targets, stack_pixel_targets)


@MODELS.register_module()
class COPS(BaseDetector):
    """COPS: CNN class and boundary scores + asymmetric multiway cut.

    The backbone feeds a semantic head (class logits) and an affinity head
    (boundary logits of pixel pairs at several offsets), both at stride
    ``output_stride``. ``loss`` trains them with the stage-1 (pretrain)
    losses; ``predict`` turns the logits into AMWC costs
    (:class:`AMWCCostHead`), solves one AMWC per image on its valid grid
    (:func:`solve_grid_amwc`, thing classes partitionable) and writes
    mmdet's panoptic, semantic and instance predictions.

    Args:
        backbone (dict): Backbone config, returning (res2, res3, res5).
        semantic_head (dict): :class:`COPSSemanticHead` config.
        affinity_head (dict): :class:`COPSAffinityHead` config.
        cost_head (dict): :class:`AMWCCostHead` config; its
            ``num_edge_distances`` is filled from the affinity head.
        num_things_classes (int): Thing classes (labels ``0..T-1``).
        num_stuff_classes (int): Stuff classes (labels after the things).
        output_stride (int): Stride of the heads' outputs (and targets).
        ignore_index (int): Void label of the targets.
        train_cfg (dict, optional): Unused by stage 1; kept for the mmdet
            detector interface.
        test_cfg (dict, optional): ``instance_min_area`` and
            ``stuff_min_area`` (original-image pixels; smaller segments
            become void) and ``num_threads`` of the solver.
        data_preprocessor (dict, optional): ``DetDataPreprocessor`` config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 semantic_head: ConfigType,
                 affinity_head: ConfigType,
                 num_things_classes: int,
                 num_stuff_classes: int,
                 cost_head: ConfigType = dict(type='AMWCCostHead'),
                 output_stride: int = 4,
                 ignore_index: int = 255,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_things_classes = num_things_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_things_classes + num_stuff_classes
        self.output_stride = output_stride
        self.ignore_index = ignore_index
        self.train_cfg = train_cfg
        self.test_cfg = dict(
            instance_min_area=0, stuff_min_area=0, num_threads=None)
        self.test_cfg.update(test_cfg or {})
        self.backbone = MODELS.build(backbone)
        self.semantic_head = MODELS.build(semantic_head)
        self.affinity_head = MODELS.build(affinity_head)
        if self.semantic_head.num_classes != self.num_classes:
            raise ValueError(
                f'semantic_head.num_classes={self.semantic_head.num_classes} '
                f'!= num_things_classes + num_stuff_classes = '
                f'{self.num_classes}')
        cost_head = dict(cost_head)
        cost_head['num_edge_distances'] = len(self.edge_distances)
        self.cost_head = MODELS.build(cost_head)

    @property
    def edge_distances(self) -> Tuple[int, ...]:
        """Pixel offsets of the boundary logits on the output grid."""
        return self.affinity_head.edge_distances

    @property
    def partitionable(self) -> Tensor:
        """``[C]`` bool, True for the thing classes (the AMWC splits them
        into instances)."""
        return torch.arange(self.num_classes) < self.num_things_classes

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone features (res2, res3, res5) of ``[B, 3, H, W]`` images."""
        return tuple(self.backbone(batch_inputs))

    def forward_heads(self, batch_inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Semantic logits ``[B, C, h, w]`` and boundary logits
        ``[B, D, 2, h, w]`` (h, w = input size / output_stride)."""
        feats = self.extract_feat(batch_inputs)
        sem_logits = self.semantic_head(feats)
        return sem_logits, self.affinity_head(feats, sem_logits)

    def _forward(
        self,
        batch_inputs: Tensor,
        batch_data_samples: Optional[SampleList] = None
    ) -> Tuple[Tensor, Tensor]:
        """Tensor mode: the two heads' logits, see :meth:`forward_heads`."""
        return self.forward_heads(batch_inputs)

    def stack_targets(self, batch_data_samples: SampleList,
                      grid_shape: Tuple[int, int]) -> Dict[str, Tensor]:
        """Batched ``gt_cops_targets`` padded to ``grid_shape``, and the
        input-resolution ``gt_cops_pixel_targets`` padded to ``grid_shape *
        output_stride`` as ``pixel_sem_seg`` / ``pixel_sem_weights``."""
        targets = stack_grid_targets(
            [sample.gt_cops_targets for sample in batch_data_samples],
            grid_shape, self.ignore_index)
        pixel_targets = stack_pixel_targets(
            [
                sample.get('gt_cops_pixel_targets')
                for sample in batch_data_samples
            ],
            [size * self.output_stride for size in grid_shape],
            self.ignore_index)
        targets.update(
            {f'pixel_{name}': value
             for name, value in pixel_targets.items()})
        return targets

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Stage-1 losses: semantic hard-pixel CE and boundary top-k BCE."""
        sem_logits, boundary_logits = self.forward_heads(batch_inputs)
        targets = self.stack_targets(batch_data_samples, sem_logits.shape[-2:])
        return self.pretrain_losses(sem_logits, boundary_logits, targets)

    def pretrain_losses(self, sem_logits: Tensor, boundary_logits: Tensor,
                        targets: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The heads' stage-1 losses on the stacked grid targets."""
        losses = self.semantic_head.loss(sem_logits, targets)
        losses.update(self.affinity_head.loss(boundary_logits, targets))
        return losses

    def grid_shapes(self,
                    batch_data_samples: SampleList) -> List[Tuple[int, int]]:
        """Output-grid size ``ceil(img_shape / output_stride)`` per image
        (the rest of the padded grid lies outside the image)."""
        return [
            tuple(
                math.ceil(size / self.output_stride)
                for size in sample.metainfo['img_shape'][:2])
            for sample in batch_data_samples
        ]

    def solve(self, sem_logits: Tensor, boundary_logits: Tensor,
              grid_shapes: Sequence[Tuple[int, int]]) -> List[AMWCResult]:
        """One AMWC per image on its valid grid (no gradient).

        The costs are computed where the network runs; the solver copies
        the whole batch to the host at once and returns the solutions on
        that device (:func:`solve_grid_amwc`).

        Args:
            sem_logits (Tensor): ``[B, C, h, w]``.
            boundary_logits (Tensor): ``[B, D, 2, h, w]``.
            grid_shapes (Sequence[tuple]): Valid ``(h_i, w_i)`` per image.

        Returns:
            list[AMWCResult]: per image ``labels``, ``clusters``
            ``[h_i * w_i]`` and ``cut`` on the logits' device, and the
            ``objective``.
        """
        # float32: under mixed precision the logits may be half floats,
        # which the solver does not take
        node_costs, edge_costs = self.cost_head(
            sem_logits.detach().float(),
            boundary_logits.detach().float())
        _, solutions = solve_grid_amwc(
            node_costs,
            edge_costs,
            self.edge_distances,
            self.partitionable,
            grid_shapes,
            num_threads=self.test_cfg['num_threads'])
        return solutions

    def postprocess(self, solutions: Sequence[AMWCResult],
                    sem_logits: Tensor, boundary_logits: Tensor,
                    grid_shapes: Sequence[Tuple[int, int]],
                    batch_data_samples: SampleList,
                    rescale: bool) -> List[Dict[str, Tensor]]:
        """Panoptic results of the solutions, on the logits' device.

        Returns:
            list[dict]: per image the output of :func:`amwc_to_panoptic` at
            ``ori_shape`` when ``rescale`` else at ``img_shape``, plus
            ``cut`` ``[2 * D, h_i, w_i]`` bool, the cut edges as maps.
        """
        sem_logits = sem_logits.detach().float()
        device = sem_logits.device
        partitionable = self.partitionable.to(device)
        # the logits on the solved graphs: the instance scores read them
        problems = grid_problems(sem_logits,
                                 boundary_logits.detach().float(),
                                 self.edge_distances, grid_shapes)
        results = []
        for sample, solution, sem, edges, edge_logits, grid_shape in zip(
                batch_data_samples, solutions, sem_logits, problems.edges,
                problems.edge_values, grid_shapes):
            height, width = grid_shape
            img_shape = sample.metainfo['img_shape'][:2]
            result = amwc_to_panoptic(
                solution.labels,
                solution.clusters,
                sem[:, :height, :width],
                edges.to(device),
                edge_logits,
                partitionable,
                img_shape=img_shape,
                ori_shape=sample.metainfo['ori_shape'][:2]
                if rescale else img_shape,
                stride=self.output_stride,
                instance_min_area=self.test_cfg['instance_min_area'],
                stuff_min_area=self.test_cfg['stuff_min_area'])
            result['cut'] = edge_values_to_grid_maps(
                solution.cut, height, width,
                self.edge_distances).flatten(0, 1)
            results.append(result)
        return results

    def add_pred_to_datasample(self, data_samples: SampleList,
                               results_list: List[Dict[str, Tensor]]
                               ) -> SampleList:
        """Write :meth:`postprocess`'s results into the data samples
        (fields listed in :meth:`predict`)."""
        for sample, result in zip(data_samples, results_list):
            sample.pred_panoptic_seg = PixelData(
                sem_seg=result['pan_seg'][None])
            sample.pred_sem_seg = PixelData(sem_seg=result['sem_seg'][None])
            sample.pred_instances = InstanceData(
                masks=result['masks'],
                labels=result['labels'],
                scores=result['scores'],
                bboxes=mask2bbox(result['masks']))
            sample.pred_boundaries = PixelData(
                metainfo=dict(
                    edge_distances=self.edge_distances,
                    stride=self.output_stride),
                cut=result['cut'])
        return data_samples

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Panoptic inference: network, :meth:`solve`, :meth:`postprocess`,
        :meth:`add_pred_to_datasample`.

        Fills per sample ``pred_panoptic_seg`` (``PixelData`` with
        ``sem_seg`` ``[1, H, W]`` int64, ``class + k * INSTANCE_OFFSET``,
        void = C), ``pred_sem_seg`` (``[1, H, W]`` AMWC classes) and
        ``pred_instances`` (``masks`` ``[K, H, W]`` bool, ``labels``,
        ``scores``, ``bboxes``), at ``ori_shape`` when ``rescale`` else at
        ``img_shape``, and ``pred_boundaries`` (``cut`` ``[2 * D, h_i, w_i]``
        bool on the image's output grid: True where the AMWC solution cuts
        the edge at offset ``edge_distances[k]``, channel ``2 * k + r``,
        r = 0 to the point below, 1 to the right, stored on the first
        point; metainfo ``edge_distances`` and ``stride``). Everything is on
        the device of ``batch_inputs``: only the AMWC costs go to the host
        (one copy per batch) and only the solutions come back; the
        post-processing runs on the device. The metainfo gets the batch's
        wall-clock seconds per image of each stage, ``time_network``
        (backbone and heads), ``time_solver`` (costs, copies and AMWC) and
        ``time_postprocess`` (post-processing and packing), read by
        ``InferenceTimeMetric``.
        """
        clock = _StageClock(batch_inputs.device)
        sem_logits, boundary_logits = self.forward_heads(batch_inputs)
        clock.lap('network')
        grid_shapes = self.grid_shapes(batch_data_samples)
        solutions = self.solve(sem_logits, boundary_logits, grid_shapes)
        clock.lap('solver')
        results = self.postprocess(solutions, sem_logits, boundary_logits,
                                   grid_shapes, batch_data_samples, rescale)
        self.add_pred_to_datasample(batch_data_samples, results)
        clock.lap('postprocess')
        per_image = {
            f'time_{stage}': seconds / len(batch_data_samples)
            for stage, seconds in clock.laps.items()
        }
        for sample in batch_data_samples:
            sample.set_metainfo(per_image)
        return batch_data_samples


class _StageClock:
    """Wall-clock seconds of consecutive stages (CUDA work synchronised at
    each lap so it is counted in the stage that launched it)."""

    def __init__(self, device: torch.device) -> None:
        self.sync = device.type == 'cuda'
        self.laps: Dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.sync:
            torch.cuda.synchronize()
        now = time.perf_counter()
        self.laps[stage] = now - self.last
        self.last = now
