"""Autograd function: AMWC solve forward, MWC-perturbation backward (COPS).

Forward: the asymmetric multiway cut (AMWC) of every image on its whole
grid, solved in one batch by ``utils.grid_amwc.solve_grid_amwc`` (the path
inference takes too). Its panoptic segments (one per stuff class present,
one per thing cluster of at least ``min_instance_area`` pixels) are returned
as a segment-id map plus, per segment, its class and the differentiable
statistics a region-based loss needs: the weighted overlap with each region
of a given region map (the ground-truth segments), the weighted area and the
area. Memory is O(N + M * R) for N pixels, M segments and R regions; no
[M, N] mask is ever built.

Backward (Vlastelica et al., ICLR 2020, on "extended labels"): every
predicted segment is its own label, plus plain labels (below); each label's
node cost is its class's cost. The solver minimises ``<c, y> + <w, z>`` (y:
pixel-label indicators, z: edge-cut indicators). With ``g = dL/dy`` (the
incoming segment gradient, 0 for plain labels) and ``y_lam = argmin`` at
costs ``c + lam * g``, the gradient is ``(y_lam - y) / lam`` w.r.t. ``c``
(summed per class) and ``(z_lam - z) / lam`` w.r.t. ``w``, averaged over K
samples of ``lam``. Raising the cost of a label where ``g > 0`` removes it
there, so a gradient step lowers the loss (the sign is checked by
``tests/test_models/test_layers/test_amwc_layer_gradient.py``).

Incoming gradient without dense masks: the statistics are linear in the
masks, so the gradient of segment m at pixel p is
``g_m(p) = dL/d(area_m) + w_p * (dL/d(weighted_area_m) + dL/d(overlap_m,r(p)))``
(r(p): the region of p), built column by column only for the labels that
get one.

Extended labels, bounded: a segment whose incoming gradient is exactly zero
needs no label of its own: its cost row would equal its class's plain cost
row. At most ``max_labels`` segments per image get their own label, those
with the largest bound ``sum_p |g_m(p)|``; the others (pathological
solutions: thousands of tiny clusters of an early or diverging model, whose
foreground probability and hence gradient is ~0) are pooled into the plain
label of their class, i.e. their gradient is dropped. That is logged once
per process. A class gets a plain label (cost = class cost, no perturbation)
when it has no own label, when some of its segments are pooled, and, with
``plain_thing_labels``, for every thing class. The solve of one image thus
holds ``(K + 1) x N x (max_labels + C)`` float64 costs at most, whatever the
number of clusters.

Baseline ``y``: ``'amwc'`` (the original's) takes the forward AMWC solution
(classes and cut edges). ``'mwc'`` solves the same MWC at ``c + eps * g``
with ``eps = BASELINE_LAMBDA_FRACTION * lambda_start``: ``y_lam`` and ``y``
then come from one solver and the tiny perturbation only breaks ties between
labels of one class; the two solvers differ on ~0.1 % of the edges even
unperturbed, and that difference divided by the smallest sampled ``lam``
swamped the loss signal on the synthetic stage 2 (docs/faithfulness.md).
Perturbed costs are solved in float64 so that ``eps * g`` is not rounded
away. Images whose incoming gradient is zero get a zero gradient without a
solve.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor
from torch.autograd.function import once_differentiable

from mmcv_ops import edge_values_to_grid_maps, solve_mwc_batch
from mmcv_ops.device import to_host
from ..utils.grid_amwc import solve_grid_amwc

# Strength of the 'mwc' baseline solve's perturbation relative to
# lambda_start: breaks ties between same-class labels, moves nothing else.
BASELINE_LAMBDA_FRACTION = 1e-6
BASELINES = ('amwc', 'mwc')

_pooling_logged = False


class AMWCSettings(NamedTuple):
    """Non-tensor arguments of :class:`AMWCFunction`.

    Attributes:
        edge_distances (tuple[int]): pixel offsets of the edge maps (D
            entries).
        min_instance_area (int): thing clusters with fewer pixels get no
            segment.
        lambda_range (tuple[float, float]): ``lam ~ U[start, end]`` per
            sample.
        num_samples (int): perturbation samples K averaged per image.
        num_threads (int, optional): solver threads (None: solver default).
        baseline (str): ``'amwc'`` or ``'mwc'``, see the module docstring.
        plain_thing_labels (bool): a plain label for every thing class.
        max_labels (int): most segments per image with their own label.
        warm_start (bool): start the backward's solves from the forward
            solution (see :func:`_initial_labels` and
            :func:`_warm_start_labels`) instead of from scratch.
        empty_segments (bool): append the empty segments of
            :func:`segments_from_solution`.
    """
    edge_distances: Tuple[int, ...]
    min_instance_area: int
    lambda_range: Tuple[float, float]
    num_samples: int
    num_threads: Optional[int]
    baseline: str = 'amwc'
    plain_thing_labels: bool = False
    max_labels: int = 128
    warm_start: bool = False
    empty_segments: bool = False


class AMWCSegments(NamedTuple):
    """Panoptic segments of a batch of AMWC solutions.

    Attributes:
        overlaps (Tensor): [B, M, R] weighted overlap of each segment with
            each region (differentiable).
        weighted_areas (Tensor): [B, M] sum of the pixel weights of each
            segment (differentiable).
        areas (Tensor): [B, M] pixel count of each segment (differentiable).
        segment_ids (Tensor): [B, H, W] int64 segment of each pixel, -1 for
            pixels of dropped clusters.
        classes (Tensor): [B, M] int64 class of each segment, -1 = padding.
        valid (Tensor): [B, M] bool, False for padding.
    """
    overlaps: Tensor
    weighted_areas: Tensor
    areas: Tensor
    segment_ids: Tensor
    classes: Tensor
    valid: Tensor


def segments_from_solution(labels: Tensor,
                           clusters: Tensor,
                           partitionable: Tensor,
                           min_instance_area: int,
                           empty_segments: bool = False
                           ) -> Tuple[Tensor, Tensor, Tensor]:
    """Panoptic segments of AMWC solutions.

    Args:
        labels (Tensor): [B, N] int64 class of every pixel.
        clusters (Tensor): [B, N] int64 cluster id of every pixel.
        partitionable (Tensor): [C] bool, True for thing classes.
        min_instance_area (int): thing clusters below this size are dropped.
        empty_segments (bool): also one empty segment per thing class ("an
            instance not predicted") and per stuff class absent from the
            image: no pixel in the forward, but a loss may give it a
            gradient, which the backward turns into pulling pixels into its
            class (its own extended label).

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``segment_ids`` [B, N] int64 (-1 for
        pixels of dropped clusters), ``classes`` [B, M] int64 (-1 for
        padding) and ``valid`` [B, M] bool. Per image, stuff segments come
        first in class order, then the thing clusters, then the empty
        segments in class order.
    """
    num_classes = len(partitionable)
    segment_ids, segment_classes = [], []
    for img_labels, img_clusters in zip(labels, clusters):
        thing = partitionable[img_labels]
        keys = torch.where(
            thing, num_classes + img_clusters * num_classes + img_labels,
            img_labels)
        unique_keys, inverse, counts = torch.unique(
            keys, return_inverse=True, return_counts=True)
        keep = (unique_keys < num_classes) | (counts >= min_instance_area)
        new_index = torch.cumsum(keep, 0) - 1
        segment_ids.append(torch.where(keep[inverse], new_index[inverse], -1))
        kept_keys = unique_keys[keep]
        img_classes = torch.where(kept_keys < num_classes, kept_keys,
                                  (kept_keys - num_classes) % num_classes)
        if empty_segments:
            stuff_present = torch.zeros_like(partitionable)
            stuff_present[unique_keys[unique_keys < num_classes]] = True
            img_classes = torch.cat([
                img_classes,
                torch.nonzero(partitionable | ~stuff_present).flatten()
            ])
        segment_classes.append(img_classes)
    num_segments = max(len(c) for c in segment_classes)
    classes = labels.new_full((len(labels), num_segments), -1)
    valid = torch.zeros((len(labels), num_segments), dtype=torch.bool)
    for i, img_classes in enumerate(segment_classes):
        classes[i, :len(img_classes)] = img_classes
        valid[i, :len(img_classes)] = True
    return torch.stack(segment_ids), classes, valid


def segment_statistics(segment_ids: Tensor, regions: Tensor, weights: Tensor,
                       num_segments: int,
                       num_regions: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Overlaps and areas of segments by ``bincount`` on ids.

    Args:
        segment_ids (Tensor): [B, N] int64, -1 = no segment.
        regions (Tensor): [B, N] int64, -1 = no region.
        weights (Tensor): [B, N] float pixel weights.
        num_segments (int): M.
        num_regions (int): R.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``overlaps`` [B, M, R],
        ``weighted_areas`` [B, M] and ``areas`` [B, M], float64.
    """
    overlaps, weighted_areas, areas = [], [], []
    for ids, img_regions, img_weights in zip(segment_ids, regions, weights):
        img_weights = img_weights.double()
        inside = ids >= 0
        ids, img_regions = ids[inside], img_regions[inside]
        img_weights = img_weights[inside]
        areas.append(
            torch.bincount(ids, minlength=num_segments).double())
        weighted_areas.append(
            torch.bincount(ids, img_weights, minlength=num_segments))
        in_region = img_regions >= 0
        pairs = ids[in_region] * num_regions + img_regions[in_region]
        overlaps.append(
            torch.bincount(
                pairs,
                img_weights[in_region],
                minlength=num_segments * num_regions).view(
                    num_segments, num_regions))
    return torch.stack(overlaps), torch.stack(weighted_areas), torch.stack(
        areas)


class AMWCFunction(torch.autograd.Function):
    """Panoptic segments of the AMWC; see the module docstring.

    Inputs: ``node_costs`` [B, C, H, W] float, ``edge_maps`` [B, D, 2, H, W]
    float (``mmcv_ops`` grid convention; edge cost > 0 prefers joining),
    ``regions`` [B, H, W] int64 (-1 = none), ``weights`` [B, H, W] float,
    ``partitionable`` [C] bool, ``settings`` :class:`AMWCSettings`.
    Outputs: the fields of :class:`AMWCSegments`, in order; the first three
    are differentiable (dtype of ``node_costs``).
    """

    @staticmethod
    def forward(ctx, node_costs: Tensor, edge_maps: Tensor, regions: Tensor,
                weights: Tensor, partitionable: Tensor,
                settings: AMWCSettings) -> Tuple[Tensor, ...]:
        batch, num_classes, height, width = node_costs.shape
        # the solver's inputs to the host in one copy (the costs as float32:
        # under mixed precision they may be half floats)
        host_costs, edge_maps, regions, weights, partitionable = to_host(
            (node_costs.float(), edge_maps.float(), regions, weights,
             partitionable))
        partitionable = partitionable.bool()
        # the whole grid: padding is void in the targets (COPSEndToEnd)
        problems, results = solve_grid_amwc(
            host_costs,
            edge_maps,
            settings.edge_distances,
            partitionable,
            num_threads=settings.num_threads)
        pixel_costs = torch.stack(problems.node_values)
        edge_costs = torch.stack(problems.edge_values)
        edges = problems.edges[0]
        labels = torch.stack([r.labels for r in results])
        clusters = torch.stack([r.clusters for r in results])
        cut = torch.stack([r.cut for r in results])
        segment_ids, classes, valid = segments_from_solution(
            labels, clusters, partitionable, settings.min_instance_area,
            settings.empty_segments)
        regions, weights = regions.flatten(1), weights.flatten(1)
        num_regions = int(regions.max()) + 1 if regions.numel() else 0
        overlaps, weighted_areas, areas = segment_statistics(
            segment_ids, regions, weights, classes.shape[1], num_regions)
        ctx.settings = settings
        ctx.image_size = (height, width)
        ctx.save_for_backward(pixel_costs, edge_costs, edges, classes, valid,
                              partitionable, regions, weights, labels, cut,
                              segment_ids)
        device = node_costs.device
        # pixel counts in at least float32: half floats round areas > 2048
        dtype = torch.promote_types(node_costs.dtype, torch.float32)
        outputs = [
            t.to(device=device, dtype=dtype)
            for t in (overlaps, weighted_areas, areas)
        ] + [
            t.to(device)
            for t in (segment_ids.view(batch, height, width), classes, valid)
        ]
        ctx.mark_non_differentiable(*outputs[3:])
        return tuple(outputs)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_overlaps: Tensor, grad_weighted_areas: Tensor,
                 grad_areas: Tensor, *grad_non_differentiable) -> Tuple:
        (pixel_costs, edge_costs, edges, classes, valid, partitionable,
         regions, weights, labels, cut, segment_ids) = ctx.saved_tensors
        settings = ctx.settings
        height, width = ctx.image_size
        batch, num_pixels, num_classes = pixel_costs.shape
        grads = [
            grad.double() for grad in to_host(
                (grad_overlaps, grad_weighted_areas, grad_areas))
        ]
        grad_nodes = torch.zeros_like(pixel_costs)
        grad_edges = torch.zeros_like(edge_costs)
        active = [
            i for i in range(batch)
            if any(grad[i][valid[i]].any() for grad in grads)
        ]
        lambdas = torch.empty(
            len(active), settings.num_samples,
            dtype=torch.float64).uniform_(*settings.lambda_range)
        for k, i in enumerate(active):
            label_classes, direction, own = _extended_problem(
                [grad[i][valid[i]] for grad in grads], classes[i][valid[i]],
                regions[i], weights[i].double(), partitionable, settings)
            costs = pixel_costs[i][:, label_classes].double()
            initial = _initial_labels(segment_ids[i], labels[i], own,
                                      label_classes, num_classes,
                                      int(valid[i].sum())
                                      ) if settings.warm_start else None
            if settings.baseline == 'mwc':
                baseline_lambda = (
                    BASELINE_LAMBDA_FRACTION * settings.lambda_range[0])
                strengths = [baseline_lambda] + lambdas[k].tolist()
            else:
                strengths = lambdas[k].tolist()
            solutions = _solve_perturbed(costs, direction, strengths, edges,
                                         edge_costs[i], settings.num_threads,
                                         initial)
            sample_classes = torch.stack(
                [label_classes[labels_] for labels_, _ in solutions])
            sample_cuts = torch.stack([cut_ for _, cut_ in solutions])
            if settings.baseline == 'mwc':
                baseline = sample_classes[0], sample_cuts[0]
                sample_classes, sample_cuts = sample_classes[1:], sample_cuts[
                    1:]
            else:
                baseline = labels[i], cut[i]
            grad_nodes[i], grad_edges[i] = _finite_differences(
                baseline, sample_classes, sample_cuts, lambdas[k],
                num_classes)
        grad_node_costs = grad_nodes.transpose(1, 2).reshape(
            batch, num_classes, height, width)
        grad_edge_maps = edge_values_to_grid_maps(grad_edges, height, width,
                                                  settings.edge_distances)
        dtype = grad_overlaps.dtype
        device = grad_overlaps.device
        return (grad_node_costs.to(device, dtype),
                grad_edge_maps.to(device, dtype), None, None, None, None)


def _solve_perturbed(costs: Tensor,
                     direction: Tensor,
                     strengths: Sequence[float],
                     edges: Tensor,
                     edge_costs: Tensor,
                     num_threads: Optional[int],
                     initial: Optional[Tensor] = None
                     ) -> List[Tuple[Tensor, Tensor]]:
    """MWC solutions ``(labels, cut)`` at ``costs + s * direction`` for
    every strength ``s`` of one image: the backward's only solver call.

    With ``initial`` ([N] extended labels, -1 = none) every solve starts
    from it, the pixels the perturbation pushes away from their label
    marked -1 (:func:`_warm_start_labels`; ``mmcv_ops.solve_mwc_batch``,
    ``initial_labels``)."""
    perturbed = [costs + strength * direction for strength in strengths]
    initial_labels = None
    if initial is not None:
        initial_labels = _warm_start_labels(costs, direction, perturbed,
                                            initial, edges, edge_costs)
    results = solve_mwc_batch(
        perturbed,
        edges, [edge_costs] * len(strengths),
        num_threads=num_threads,
        initial_labels=initial_labels)
    return [(r.labels, r.cut) for r in results]


def _warm_start_labels(costs: Tensor, direction: Tensor,
                       perturbed: Sequence[Tensor], initial: Tensor,
                       edges: Tensor, edge_costs: Tensor) -> List[Tensor]:
    """The start of every perturbed solve: ``initial`` with -1 at the
    pixels the perturbation pushes away from their label.

    The solver's contraction never splits a start cluster, so a pixel must
    start alone (-1) to leave its segment. A pixel ``p`` with label ``l0``
    is marked when the perturbation made another label cheaper relative to
    ``l0`` and that label is either the cheapest one (its margin grew,
    ``c'(p, l0) - min_l c'(p, l) > c(p, l0) - min_l c(p, l)``: it may leave
    with its segment) or a neighbour's label that a move of ``p`` alone to
    it now gains (node cost plus the edges to the initial labels: a
    boundary pixel held by its edges until the perturbation tipped it). A
    pixel whose label got relatively cheaper or kept its margin has no new
    reason to leave; the node moves still revisit it when a neighbour
    moves. Unlike "the cheapest label changed", neither test depends on
    which of the equal-cost columns of a class (its own labels and its
    plain label) an argmin picks, so a perturbation of one segment does not
    mark the pixels of the others.

    Args:
        costs (Tensor): [N, L] float64 unperturbed extended-label costs.
        direction (Tensor): [N, L] float64 perturbation direction.
        perturbed (Sequence[Tensor]): [N, L] float64 ``costs + s *
            direction`` per strength ``s > 0``.
        initial (Tensor): [N] int64 forward solution in extended labels,
            -1 = none (stays -1).
        edges (Tensor): [E, 2] int64 pixel pairs.
        edge_costs (Tensor): [E] edge costs (> 0 prefers joining).

    Returns:
        list[Tensor]: [N] int64 initial labels of each solve.
    """
    # Only a pixel with a label whose direction is below its own label's
    # (0.14 % of a 128 x 256 crop with the PQ loss) can be marked, for any
    # strength s > 0: the tests below run on those. No tolerance: at the
    # others no float rounding can mark anything, the 'mwc' baseline's push
    # (eps * g, 1e-6 of lambda_start) would fall under a tolerance but is
    # far above float64 rounding, and a spurious mark only costs solver
    # time.
    rows = torch.arange(len(costs))
    current = initial.clamp(min=0)
    candidates = torch.nonzero((initial >= 0) & (
        direction[rows, current] > direction.amin(1))).flatten()
    candidate_labels = current[candidates]

    def margin(values):
        values = values[candidates]
        return values[torch.arange(len(candidates)),
                      candidate_labels] - values.amin(1)

    unperturbed_margin = margin(costs)
    pixels, labels, edge_gains = _cheaper_neighbour_moves(
        initial, direction, candidates, edges, edge_costs)
    starts = []
    for sample in perturbed:
        marked = candidates[margin(sample) > unperturbed_margin]
        tipped = (sample[pixels, initial[pixels]] - sample[pixels, labels] +
                  edge_gains) > 0
        starts.append(initial.index_fill(0, torch.cat([marked,
                                                       pixels[tipped]]), -1))
    return starts


def _cheaper_neighbour_moves(initial: Tensor, direction: Tensor,
                             candidates: Tensor, edges: Tensor,
                             edge_costs: Tensor
                             ) -> Tuple[Tensor, Tensor, Tensor]:
    """The moves of one pixel to a neighbour's label that the perturbation
    makes relatively cheaper (for every strength ``s > 0``).

    Args:
        initial (Tensor): [N] int64 labels, -1 = none (no moves).
        direction (Tensor): [N, L] float64 perturbation direction.
        candidates (Tensor): [C] int64 the pixels with a label whose
            direction is below their own label's (the others have no such
            move).
        edges (Tensor): [E, 2] int64 pixel pairs.
        edge_costs (Tensor): [E] edge costs (> 0 prefers joining).

    Returns:
        tuple[Tensor, Tensor, Tensor]: for every pixel ``p`` and label ``l``
        of one of its neighbours with ``direction[p, l] < direction[p,
        l0]`` (``l0``: its own label): ``pixels`` [P], ``labels`` [P] and
        the edge part of the move's gain ``w(p, l) - w(p, l0)`` [P]
        float64, ``w(p, l)`` the summed costs of ``p``'s edges to pixels
        labelled ``l``.
    """
    num_pixels, num_labels = direction.shape
    is_candidate = torch.zeros(num_pixels, dtype=torch.bool)
    is_candidate[candidates] = True
    # the (p, q) pairs of the edges at a candidate p, both ways round
    touching = torch.nonzero(is_candidate[edges].any(1)).flatten()
    pairs = edges[touching]
    pixels = pairs.t().flatten()
    other = initial[pairs.flip(1).t().flatten()]
    weights = edge_costs[touching].double().repeat(2)
    kept = torch.nonzero(is_candidate[pixels]).flatten()
    pixels, other, weights = pixels[kept], other[kept], weights[kept]
    own = initial[pixels]
    same = own == other
    joined_own = torch.zeros(
        num_pixels, dtype=torch.float64).index_add_(0, pixels[same],
                                                    weights[same])
    flat_direction = direction.flatten()
    cheaper = (~same) & (other >= 0) & (
        flat_direction[pixels * num_labels + other.clamp(min=0)] <
        flat_direction[pixels * num_labels + own])
    keys, inverse = torch.unique(
        pixels[cheaper] * num_labels + other[cheaper], return_inverse=True)
    joined = torch.zeros(
        len(keys), dtype=torch.float64).index_add_(0, inverse,
                                                   weights[cheaper])
    pixels = keys // num_labels
    return pixels, keys % num_labels, joined - joined_own[pixels]


def _initial_labels(segment_ids: Tensor, pixel_classes: Tensor, own: Tensor,
                    label_classes: Tensor, num_classes: int,
                    num_segments: int) -> Tensor:
    """The forward solution of one image in extended labels.

    Args:
        segment_ids (Tensor): [N] int64 segment of each pixel, -1 = none.
        pixel_classes (Tensor): [N] int64 class of each pixel.
        own (Tensor): [M'] segments with their own label (labels 0..M'-1).
        label_classes (Tensor): [L] class of each extended label.
        num_classes (int): number of classes C.
        num_segments (int): number of valid segments M.

    Returns:
        Tensor: [N] int64: the own label of a pixel's segment, else the plain
        label of its class, else -1 (the pixel starts alone).
    """
    own_label = torch.full((num_segments + 1, ), -1, dtype=torch.long)
    own_label[own] = torch.arange(len(own))
    initial = own_label[segment_ids]  # id -1 reads the last entry, -1
    plain_label = torch.full((num_classes, ), -1, dtype=torch.long)
    plain_label[label_classes[len(own):]] = torch.arange(
        len(own), len(label_classes))
    return torch.where(initial >= 0, initial, plain_label[pixel_classes])


def _extended_problem(grads: Sequence[Tensor], segment_classes: Tensor,
                      regions: Tensor, weights: Tensor, partitionable: Tensor,
                      settings: AMWCSettings) -> Tuple[Tensor, Tensor]:
    """Extended labels of one image and their perturbation direction.

    Args:
        grads (Sequence[Tensor]): gradients of the M valid segments'
            ``overlaps`` [M, R], ``weighted_areas`` [M] and ``areas`` [M].
        segment_classes (Tensor): [M] classes of the segments.
        regions (Tensor): [N] int64 region of each pixel, -1 = none.
        weights (Tensor): [N] float64 pixel weights.
        partitionable (Tensor): [C] bool.
        settings (AMWCSettings): ``max_labels``, ``plain_thing_labels``.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``label_classes`` [L] int64 (own
        labels in segment order, then plain labels in class order),
        ``direction`` [N, L] float64 (``g_m`` on own labels, 0 on plain ones)
        and ``own`` [M'] int64, the segments with their own label.
    """
    grad_overlaps, grad_weighted_areas, grad_areas = grads
    num_regions = grad_overlaps.shape[1]
    # g_m(p) = grad_areas[m] + w_p * per_region[m, r(p)], last column: none
    per_region = torch.cat([grad_overlaps, grad_overlaps.new_zeros(
        len(grad_overlaps), 1)], 1) + grad_weighted_areas[:, None]
    region_index = torch.where(regions >= 0, regions, num_regions)
    region_weights = torch.bincount(
        region_index, weights, minlength=num_regions + 1)
    bound = grad_areas.abs() * len(regions) + (
        per_region.abs() * region_weights).sum(1)
    nonzero = torch.nonzero(bound > 0).flatten()
    own = nonzero[torch.sort(
        bound[nonzero], descending=True, stable=True)[1][:settings.max_labels]]
    own = torch.sort(own)[0]
    if len(nonzero) > len(own):
        _log_pooling_once(len(nonzero), settings.max_labels)
    own_classes = segment_classes[own]
    has_own = torch.zeros_like(partitionable)
    has_own[own_classes] = True
    has_pooled = torch.zeros_like(partitionable)
    not_own = torch.ones(len(segment_classes), dtype=torch.bool)
    not_own[own] = False
    has_pooled[segment_classes[not_own]] = True
    plain = ~has_own | has_pooled
    if settings.plain_thing_labels:
        plain |= partitionable
    label_classes = torch.cat([own_classes, torch.nonzero(plain).flatten()])
    direction = torch.zeros(len(regions), len(label_classes),
                            dtype=torch.float64)
    direction[:, :len(own)] = grad_areas[own] + weights[:, None] * (
        per_region[own][:, region_index].t())
    return label_classes, direction, own


def _log_pooling_once(num_labels: int, max_labels: int) -> None:
    global _pooling_logged
    if not _pooling_logged:
        _pooling_logged = True
        print_log(
            f'AMWC backward: an image has {num_labels} segments with a '
            f'non-zero gradient; the {max_labels} with the largest get '
            'their own label, the others are pooled into their class\'s '
            'plain label and get no gradient (amwc_layer.max_labels; logged '
            'once per run).',
            logger='current',
            level=30)


def _finite_differences(baseline: Tuple[Tensor, Tensor],
                        sample_classes: Tensor, sample_cuts: Tensor,
                        lambdas: Tensor,
                        num_classes: int) -> Tuple[Tensor, Tensor]:
    """Mean over samples of ``(y_lam - y) / lam`` for classes and cuts.

    Args:
        baseline (tuple[Tensor, Tensor]): class [N] and cut flag [E] of every
            pixel / edge of ``y``.
        sample_classes (Tensor): [K, N] classes of the ``y_lam``.
        sample_cuts (Tensor): [K, E] cut flags of the ``y_lam``.
        lambdas (Tensor): [K] perturbation strengths.
        num_classes (int): number of classes C.

    Returns:
        tuple[Tensor, Tensor]: [N, C] node-cost and [E] edge-cost gradients.
    """
    classes = torch.cat([baseline[0][None], sample_classes])
    cuts = torch.cat([baseline[1][None], sample_cuts]).double()
    weights = torch.cat([-(1 / lambdas).sum()[None], 1 / lambdas])[:, None]
    num_pixels = classes.shape[1]
    pixels = torch.arange(num_pixels)
    grad_nodes = torch.zeros(num_pixels * num_classes, dtype=torch.float64)
    grad_nodes.index_add_(0, (pixels * num_classes + classes).flatten(),
                          weights.expand(-1, num_pixels).flatten())
    grad_edges = (weights * cuts).sum(0)
    num_samples = len(lambdas)
    return (grad_nodes.view(num_pixels, num_classes) / num_samples,
            grad_edges / num_samples)
