"""COPS stage 2: training through the AMWC solver with the PQ surrogate
loss."""
from typing import Dict, Sequence

from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType
from ..utils.panoptic_matching import panoptic_segments
from .cops import COPS


@MODELS.register_module()
class COPSEndToEnd(COPS):
    """COPS trained end to end (stage 2 of the paper).

    ``loss`` turns the heads' logits into AMWC costs (:class:`AMWCCostHead`),
    solves the AMWC of every image with :class:`AMWCLayer` (differentiable
    through perturbed multiway cuts) and scores the panoptic masks with
    :class:`PQSurrogateLoss` against the ``pan_seg`` ground truth of
    ``gt_cops_targets`` (void pixels weigh 0). Inference is :class:`COPS`'s.
    The AMWC runs on the whole padded output grid; the padding is void in the
    targets, so only its area reaches the loss (the COPS crops are not
    padded).

    Args:
        amwc_layer (dict): :class:`AMWCLayer` config; class counts and
            ``edge_distances`` are filled from the detector.
        loss_pq (dict): :class:`PQSurrogateLoss` config; class counts are
            filled from the detector.
        frozen_modules (Sequence[str]): names of sub-modules (e.g.
            ``'backbone'``, ``'semantic_head.decoder'``) whose parameters
            are not trained and which always run in eval mode.
        norm_eval (bool): keep every batch-norm layer in eval mode (frozen
            statistics) while training.
        keep_pretrain_losses (bool): add the stage-1 losses (semantic CE and
            boundary BCE of the heads' configs) to ``loss_pq``. The paper
            trains stage 2 with the PQ loss only; keeping the stage-1 signal
            helps when stage 1 is far from converged (docs/experiments.md).
        **kwargs: :class:`COPS` arguments.
    """

    def __init__(self,
                 amwc_layer: ConfigType,
                 loss_pq: ConfigType,
                 frozen_modules: Sequence[str] = (),
                 norm_eval: bool = True,
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
        self.norm_eval = norm_eval
        self.keep_pretrain_losses = keep_pretrain_losses
        self.train()

    def train(self, mode: bool = True) -> 'COPSEndToEnd':
        """Set the training mode, keeping frozen modules (and batch norms
        when ``norm_eval``) in eval mode."""
        super().train(mode)
        if mode:
            for name in self.frozen_modules:
                self.get_submodule(name).eval()
            if self.norm_eval:
                for module in self.modules():
                    if isinstance(module, _BatchNorm):
                        module.eval()
        return self

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """PQ surrogate loss of the AMWC panoptic masks (``loss_pq``), plus
        the stage-1 losses when ``keep_pretrain_losses``."""
        sem_logits, boundary_logits = self.forward_heads(batch_inputs)
        targets = self.stack_targets(batch_data_samples, sem_logits.shape[-2:])
        node_costs, edge_costs = self.cost_head(sem_logits, boundary_logits)
        masks, classes, valid = self.amwc_layer(node_costs, edge_costs)
        pan_seg = targets['pan_seg'].to(masks.device)
        gt_masks, gt_classes = zip(*[
            panoptic_segments(image_pan_seg, self.ignore_index)
            for image_pan_seg in pan_seg
        ])
        weights = (pan_seg != self.ignore_index).to(masks.dtype)
        losses = dict(
            loss_pq=self.loss_pq(masks, classes, valid, gt_masks, gt_classes,
                                 weights))
        if self.keep_pretrain_losses:
            losses.update(
                self.pretrain_losses(sem_logits, boundary_logits, targets))
        return losses
