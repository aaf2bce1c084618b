"""Autograd function: AMWC solve forward, MWC-perturbation backward (COPS).

Forward: the asymmetric multiway cut (AMWC) of every image, solved by the
threaded ``mmcv_ops.solve_amwc_batch``, turned into panoptic masks (one per
stuff class present, one per thing cluster).

Backward (Vlastelica et al., ICLR 2020, on "extended labels"): every predicted
mask is its own label, plus one plain label per thing class ("an instance
not predicted") and per absent stuff class; each label's node cost is its
class's cost. The solver minimises ``<c, y> + <w, z>`` (y: pixel-label
indicators, z: edge-cut indicators). With ``g = dL/dy`` (the incoming mask
gradient, 0 for plain labels) and ``y_lam = argmin`` at costs ``c + lam * g``,
the piecewise-linear interpolation of ``L(y(c))`` has gradient
``(y_lam - y) / lam`` w.r.t. ``c`` and ``(z_lam - z) / lam`` w.r.t. ``w``:
raising the cost of a label where ``g > 0`` removes it there
(``y_lam - y < 0``), so a gradient step ``c -= lr * grad`` raises that cost,
which is the direction that lowers the loss (the sign is checked by
``tests/test_models/test_amwc_layer_gradient.py``). Label gradients are summed
per class, edge gradients are mapped back to per-offset grid maps.

The baseline ``y`` is an MWC solve too, at costs ``c + eps * g`` with
``eps = BASELINE_LAMBDA_FRACTION * lambda_start``: ``y_lam`` and ``y`` then
come from the same solver, and the tiny perturbation only breaks the ties
between labels of one class (at ``c`` itself all instances of a class cost
the same, and an unperturbed solve would merge touching instances). Taking
the forward AMWC solution as ``y`` instead mixes two solvers: their
solutions differ on ~0.1 % of the edges even without a perturbation, and that
difference, divided by the smallest sampled ``lam``, swamped the loss signal
of the large ones (measured on the synthetic stage 2: 0.08 % of the edges
differ at ``lam = 1`` against the AMWC baseline, none against this one).
Perturbed costs are solved in float64 so that ``eps * g`` is not rounded
away. Images whose incoming gradient is zero get a zero gradient without a
solve.
"""
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from mmcv_ops import (edge_values_to_grid_maps, grid_graph,
                      grid_maps_to_edge_values, solve_amwc_batch,
                      solve_mwc_batch)

# Strength of the baseline solve's perturbation relative to lambda_start:
# breaks ties between same-class labels, moves nothing else.
BASELINE_LAMBDA_FRACTION = 1e-6


class AMWCSettings(NamedTuple):
    """Non-tensor arguments of :class:`AMWCFunction`.

    Attributes:
        offsets (tuple[int]): pixel offsets of the edge maps (D entries).
        min_instance_area (int): thing clusters with fewer pixels get no mask.
        lambda_range (tuple[float, float]): ``lam ~ U[start, end]`` per sample.
        num_samples (int): perturbation samples K averaged per image.
        num_threads (int, optional): solver threads (None: solver default).
    """
    offsets: Tuple[int, ...]
    min_instance_area: int
    lambda_range: Tuple[float, float]
    num_samples: int
    num_threads: Optional[int]


class ExtendedProblem(NamedTuple):
    """The MWC of one image over extended labels.

    Attributes:
        costs (Tensor): [N, L] float64 node costs of the L extended labels.
        direction (Tensor): [N, L] float64 perturbation direction (the
            incoming mask gradient; 0 for plain labels).
        label_classes (Tensor): [L] int64 class of each extended label.
    """
    costs: Tensor
    direction: Tensor
    label_classes: Tensor


def panoptic_masks_from_solution(
        labels: Tensor, clusters: Tensor, partitionable: Tensor,
        min_instance_area: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Panoptic masks of AMWC solutions.

    Args:
        labels (Tensor): [B, N] int64 class of every pixel.
        clusters (Tensor): [B, N] int64 cluster id of every pixel.
        partitionable (Tensor): [C] bool, True for thing classes.
        min_instance_area (int): thing clusters below this size are dropped.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``masks`` [B, M, N] (0/1, float32;
        pixels of dropped clusters in none), ``classes`` [B, M] int64 (-1 for
        padding) and ``valid`` [B, M] bool. Per image, stuff masks come first
        in class order, then the thing clusters.
    """
    num_classes = len(partitionable)
    segment_ids, segment_classes = [], []
    for img_labels, img_clusters in zip(labels, clusters):
        is_thing = partitionable[img_labels]
        keys = torch.where(
            is_thing, num_classes + img_clusters * num_classes + img_labels,
            img_labels)
        unique_keys, inverse, counts = torch.unique(
            keys, return_inverse=True, return_counts=True)
        keep = (unique_keys < num_classes) | (counts >= min_instance_area)
        new_index = torch.cumsum(keep, 0) - 1
        segment_ids.append(torch.where(keep[inverse], new_index[inverse], -1))
        kept_keys = unique_keys[keep]
        segment_classes.append(
            torch.where(kept_keys < num_classes, kept_keys,
                        (kept_keys - num_classes) % num_classes))
    num_masks = max(len(c) for c in segment_classes)
    batch, num_pixels = labels.shape
    classes = labels.new_full((batch, num_masks), -1)
    valid = torch.zeros((batch, num_masks), dtype=torch.bool)
    for i, img_classes in enumerate(segment_classes):
        classes[i, :len(img_classes)] = img_classes
        valid[i, :len(img_classes)] = True
    segment_ids = torch.stack(segment_ids)
    masks = torch.zeros((batch, num_masks + 1, num_pixels))
    masks.scatter_(1, (segment_ids + 1)[:, None], 1.)
    return masks[:, 1:], classes, valid


def extended_labels(mask_classes: Tensor, partitionable: Tensor) -> Tensor:
    """Class of every extended label of one image.

    Args:
        mask_classes (Tensor): [M] int64 classes of the valid masks.
        partitionable (Tensor): [C] bool, True for thing classes.

    Returns:
        Tensor: [M + P] int64: the masks' classes, then P plain labels: every
        thing class and every stuff class without a mask, in class order.
    """
    has_mask = torch.zeros_like(partitionable)
    has_mask[mask_classes] = True
    plain = torch.nonzero(partitionable | ~has_mask).flatten()
    return torch.cat([mask_classes, plain])


class AMWCFunction(torch.autograd.Function):
    """Panoptic masks of the AMWC; see the module docstring for the backward.

    Inputs: ``node_costs`` [B, C, H, W] float, ``edge_maps`` [B, D, 2, H, W]
    float (``mmcv_ops`` grid convention; edge cost > 0 prefers joining),
    ``partitionable`` [C] bool, ``settings`` :class:`AMWCSettings`.
    Outputs: ``masks`` [B, M, H, W] (0/1, dtype of node_costs,
    differentiable), ``classes`` [B, M] int64 (-1 = padding), ``valid``
    [B, M] bool.
    """

    @staticmethod
    def forward(ctx, node_costs: Tensor, edge_maps: Tensor,
                partitionable: Tensor,
                settings: AMWCSettings) -> Tuple[Tensor, Tensor, Tensor]:
        batch, num_classes, height, width = node_costs.shape
        edges = grid_graph(height, width, settings.offsets)
        pixel_costs = node_costs.detach().cpu().flatten(2).transpose(1, 2)
        edge_costs = grid_maps_to_edge_values(edge_maps.detach().cpu(),
                                              settings.offsets)
        partitionable = partitionable.cpu().bool()
        results = solve_amwc_batch(
            list(pixel_costs),
            edges,
            list(edge_costs),
            partitionable,
            num_threads=settings.num_threads)
        labels = torch.stack([r.labels for r in results])
        clusters = torch.stack([r.clusters for r in results])
        masks, classes, valid = panoptic_masks_from_solution(
            labels, clusters, partitionable, settings.min_instance_area)
        ctx.settings = settings
        ctx.image_size = (height, width)
        ctx.save_for_backward(pixel_costs, edge_costs, edges, classes, valid,
                              partitionable)
        masks = masks.reshape(batch, -1, height, width)
        device = node_costs.device
        classes, valid = classes.to(device), valid.to(device)
        ctx.mark_non_differentiable(classes, valid)
        return masks.to(node_costs), classes, valid

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_masks: Tensor, grad_classes: Optional[Tensor],
                 grad_valid: Optional[Tensor]) -> Tuple:
        (pixel_costs, edge_costs, edges, classes, valid,
         partitionable) = ctx.saved_tensors
        settings = ctx.settings
        height, width = ctx.image_size
        grad_pixels = grad_masks.detach().cpu().flatten(2).transpose(1, 2)
        grad_nodes = torch.zeros_like(pixel_costs)
        grad_edges = torch.zeros_like(edge_costs)
        active = [i for i in range(len(grad_pixels)) if grad_pixels[i].any()]
        problems = [
            _extended_problem(pixel_costs[i], grad_pixels[i],
                              classes[i][valid[i]], partitionable)
            for i in active
        ]
        num_samples = settings.num_samples
        lambdas = torch.empty(
            len(active), num_samples,
            dtype=torch.float64).uniform_(*settings.lambda_range)
        baseline_lambda = BASELINE_LAMBDA_FRACTION * settings.lambda_range[0]
        # per image: the baseline solve, then the K perturbed samples
        strengths = torch.cat(
            [lambdas.new_full((len(active), 1), baseline_lambda), lambdas], 1)
        results = solve_mwc_batch(
            [
                problem.costs + lam * problem.direction
                for problem, img_strengths in zip(problems, strengths)
                for lam in img_strengths
            ],
            edges, [
                edge_costs[i] for i in active
                for _ in range(num_samples + 1)
            ],
            num_threads=settings.num_threads)
        for k, (i, problem) in enumerate(zip(active, problems)):
            solutions = [
                r.labels for r in results[k * (num_samples + 1):(k + 1) *
                                          (num_samples + 1)]
            ]
            grad_nodes[i], grad_edges[i] = _finite_differences(
                problem.label_classes, solutions[0], solutions[1:],
                lambdas[k], edges, pixel_costs.shape[-1])
        grad_node_costs = grad_nodes.transpose(1, 2).reshape(
            -1, pixel_costs.shape[-1], height, width)
        grad_edge_maps = edge_values_to_grid_maps(grad_edges, height, width,
                                                  settings.offsets)
        return (grad_node_costs.to(grad_masks), grad_edge_maps.to(grad_masks),
                None, None)


def _extended_problem(pixel_costs: Tensor, grad_pixels: Tensor,
                      mask_classes: Tensor,
                      partitionable: Tensor) -> ExtendedProblem:
    """The MWC of one image over extended labels.

    Args:
        pixel_costs (Tensor): [N, C] node costs.
        grad_pixels (Tensor): [N, M'] incoming mask gradients (M' >= M).
        mask_classes (Tensor): [M] classes of the valid masks.
        partitionable (Tensor): [C] bool.

    Returns:
        ExtendedProblem: costs and perturbation direction.
    """
    num_masks = len(mask_classes)
    label_classes = extended_labels(mask_classes, partitionable)
    direction = torch.zeros(
        len(pixel_costs), len(label_classes), dtype=torch.float64)
    direction[:, :num_masks] = grad_pixels[:, :num_masks]
    return ExtendedProblem(pixel_costs[:, label_classes].double(), direction,
                           label_classes)


def _finite_differences(label_classes: Tensor, baseline_labels: Tensor,
                        sample_labels: Sequence[Tensor], lambdas: Tensor,
                        edges: Tensor,
                        num_classes: int) -> Tuple[Tensor, Tensor]:
    """Mean over samples of ``(y_lam - y) / lam`` for classes and cuts.

    Args:
        label_classes (Tensor): [L] class of each extended label.
        baseline_labels (Tensor): [N] extended label per pixel of ``y``.
        sample_labels (Sequence[Tensor]): K x [N] labels of the ``y_lam``.
        lambdas (Tensor): [K] perturbation strengths.
        edges (Tensor): [E, 2] graph edges.
        num_classes (int): number of classes C.

    Returns:
        tuple[Tensor, Tensor]: [N, C] node-cost and [E] edge-cost gradients.
    """
    labels = torch.stack([baseline_labels, *sample_labels])
    weights = torch.cat([-(1 / lambdas).sum()[None], 1 / lambdas])[:, None]
    num_pixels = labels.shape[1]
    pixels = torch.arange(num_pixels)
    grad_nodes = torch.zeros(num_pixels * num_classes, dtype=torch.float64)
    grad_nodes.index_add_(
        0, (pixels * num_classes + label_classes[labels]).flatten(),
        weights.expand(-1, num_pixels).flatten())
    cut = (labels[:, edges[:, 0]] != labels[:, edges[:, 1]]).double()
    grad_edges = (weights * cut).sum(0)
    num_samples = len(lambdas)
    return (grad_nodes.view(num_pixels, num_classes) / num_samples,
            grad_edges / num_samples)
