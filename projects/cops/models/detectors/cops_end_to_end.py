"""COPS stage 2: training through the AMWC solver with the PQ surrogate
loss."""
from typing import Dict, Sequence, Tuple

import torch
from mmengine.dist import get_world_size
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType
from ..layers import weight_gradient
from ..utils.panoptic_matching import panoptic_regions
from .cops import COPS


@MODELS.register_module()
class COPSEndToEnd(COPS):
    """COPS trained end to end (stage 2 of the paper).

    ``loss`` turns the heads' logits into AMWC costs (:class:`AMWCCostHead`),
    solves the AMWC of every image with :class:`AMWCLayer` (differentiable
    through perturbed multiway cuts) and scores its panoptic segments with
    :class:`PQSurrogateLoss` against the ``pan_seg`` ground truth of
    ``gt_cops_targets`` (void and crowd pixels weigh 0). As in the original,
    the solver's gradients are zeroed where the ground truth says nothing:
    node-cost gradients are multiplied by those pixel weights, edge-cost
    gradients by the ``boundary_weights`` targets (0 where either end is void
    or crowd). The PQ loss sums its per-class terms over all processes, and
    the cost gradients are multiplied by the number of processes so that
    DDP's averaging yields their sum: N processes with B images train like
    one process with N * B images. Inference is :class:`COPS`'s. The AMWC
    runs on the whole padded output grid; the padding is void in the
    targets, so only its area reaches the loss (the COPS crops are not
    padded).

    Args:
        amwc_layer (dict): :class:`AMWCLayer` config; class counts and
            ``edge_distances`` are filled from the detector.
        loss_pq (dict): :class:`PQSurrogateLoss` config; class counts are
            filled from the detector.
        frozen_modules (Sequence[str]): names of sub-modules whose
            parameters are not trained and which always run in eval mode;
            the default is the original's stage 2 (backbone and decoders).
        freeze_norm (bool): freeze every batch-norm layer: eval mode
            (running statistics) and untrained gamma / beta, as the
            original's stage 2 (detectron2's ``FrozenBatchNorm2d``).
        keep_pretrain_losses (bool): add the stage-1 losses (semantic CE and
            boundary BCE of the heads' configs) to ``loss_pq``. The paper
            trains stage 2 with the PQ loss only; keeping the stage-1 signal
            helps when stage 1 is far from converged (docs/experiments.md).
        **kwargs: :class:`COPS` arguments.
    """

    def __init__(self,
                 amwc_layer: ConfigType,
                 loss_pq: ConfigType,
                 frozen_modules: Sequence[str] = ('backbone',
                                                  'semantic_head.decoder',
                                                  'affinity_head.decoder'),
                 freeze_norm: bool = True,
                 keep_pretrain_losses: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        classes = dict(
            num_things_classes=self.num_things_classes,
            num_stuff_classes=self.num_stuff_classes)
        self.amwc_layer = MODELS.build(
            dict(amwc_layer, edge_distances=self.edge_distances, **classes))
        self.loss_pq = MODELS.build(dict(loss_pq, **classes))
        self.frozen_modules = tuple(frozen_modules)
        for name in self.frozen_modules:
            try:
                module = self.get_submodule(name)
            except AttributeError as error:
                raise ValueError(f'frozen_modules: COPSEndToEnd has no '
                                 f'sub-module "{name}"') from error
            module.requires_grad_(False)
        self.freeze_norm = freeze_norm
        if freeze_norm:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.requires_grad_(False)
        self.keep_pretrain_losses = keep_pretrain_losses
        self.train()

    def train(self, mode: bool = True) -> 'COPSEndToEnd':
        """Set the training mode, keeping frozen modules (and batch norms
        when ``freeze_norm``) in eval mode."""
        super().train(mode)
        if mode:
            for name in self.frozen_modules:
                self.get_submodule(name).eval()
            if self.freeze_norm:
                for module in self.modules():
                    if isinstance(module, _BatchNorm):
                        module.eval()
        return self

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """PQ surrogate loss of the AMWC panoptic segments (``loss_pq``), plus
        the stage-1 losses when ``keep_pretrain_losses``."""
        sem_logits, boundary_logits = self.forward_heads(batch_inputs)
        targets = self.stack_targets(batch_data_samples, sem_logits.shape[-2:])
        node_costs, edge_costs = self.cost_head(sem_logits, boundary_logits)
        segments, gt_classes, gt_areas = self.amwc_segments(
            node_costs, edge_costs, targets)
        losses = dict(loss_pq=self.loss_pq(segments, gt_classes, gt_areas))
        if self.keep_pretrain_losses:
            losses.update(
                self.pretrain_losses(sem_logits, boundary_logits, targets))
        return losses

    def amwc_segments(self, node_costs: Tensor, edge_costs: Tensor,
                      targets: Dict[str, Tensor]) -> Tuple:
        """AMWC segments of the costs with the loss's ground truth.

        Returns:
            tuple: :class:`AMWCSegments` (statistics against the
            ground-truth regions), ``gt_classes`` [B, R] and ``gt_areas``
            [B, R] on the costs' device. Gradients reaching the costs are
            masked (void / crowd) and multiplied by the number of processes.
        """
        regions, weights, gt_classes, gt_areas = self.pq_targets(
            targets['pan_seg'])
        world_size = get_world_size()
        node_costs = weight_gradient(
            node_costs, weights[:, None].to(node_costs) * world_size)
        edge_costs = weight_gradient(
            edge_costs, targets['boundary_weights'] * world_size)
        segments = self.amwc_layer(node_costs, edge_costs, regions, weights)
        return (segments, gt_classes.to(node_costs.device),
                gt_areas.to(segments.areas))

    def pq_targets(self, pan_seg: Tensor) -> Tuple[Tensor, ...]:
        """Ground truth of the PQ loss from ``pan_seg`` [B, h, w].

        Returns:
            tuple[Tensor, ...]: ``regions`` [B, h, w] int64 (segment index,
            -1 on void and crowd), ``weights`` [B, h, w] float (0 there, 1
            elsewhere), ``gt_classes`` [B, R] int64 (-1 = padding) and
            ``gt_areas`` [B, R] float (weighted areas).
        """
        pan_seg = pan_seg.cpu()
        regions, gt_classes = panoptic_regions(pan_seg, self.ignore_index)
        weights = (pan_seg != self.ignore_index).float()
        gt_areas = torch.stack([
            torch.bincount(
                image_regions[image_regions >= 0],
                minlength=gt_classes.shape[1]) for image_regions in regions
        ]).float()
        return regions, weights, gt_classes, gt_areas
