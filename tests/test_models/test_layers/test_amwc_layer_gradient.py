"""Gradient check: training costs through the AMWC layer raises the true PQ.

Node and edge costs are free parameters; Adam minimises the PQ surrogate
loss of the layer's masks against a fixed 24x24 panoptic map with two stuff
classes and three touching instances of one thing class. The backward of the
layer is the only gradient path, so the true PQ can only rise if its sign and
mapping back to class / edge costs are right.
"""
import pytest
import torch
import torch.nn.functional as F

from projects.cops.models.layers import AMWCLayer
from projects.cops.models.losses import PQSurrogateLoss
from projects.cops.models.utils.panoptic_matching import panoptic_regions

SIZE = 24
THING, STUFF_TOP, STUFF_BOTTOM = 0, 1, 2


def ground_truth():
    """Semantic map [24, 24], segment masks [5, 24, 24] and their classes."""
    semantic = torch.full((SIZE, SIZE), STUFF_TOP)
    semantic[SIZE // 2:] = STUFF_BOTTOM
    masks = []
    for left in (2, 8, 14):  # three touching 12x6 instances
        semantic[6:18, left:left + 6] = THING
        instance = torch.zeros(SIZE, SIZE, dtype=torch.bool)
        instance[6:18, left:left + 6] = True
        masks.append(instance)
    masks += [semantic == STUFF_TOP, semantic == STUFF_BOTTOM]
    classes = torch.tensor([THING] * 3 + [STUFF_TOP, STUFF_BOTTOM])
    return semantic, torch.stack(masks), classes


def mask_ious(preds, gts):
    """[M, G] IoU of bool masks."""
    preds, gts = preds.flatten(1).float(), gts.flatten(1).float()
    intersection = preds @ gts.t()
    union = preds.sum(1)[:, None] + gts.sum(1)[None] - intersection
    return intersection / union.clamp(min=1)


def hard_pq(pred_masks, pred_classes, gt_masks, gt_classes):
    """Panoptic quality (unique matching at IoU > 0.5), class average."""
    class_pq = []
    for cls in torch.unique(torch.cat([pred_classes, gt_classes])):
        preds = pred_masks[pred_classes == cls]
        gts = gt_masks[gt_classes == cls]
        ious = mask_ious(preds, gts)
        matched = ious > 0.5
        num_tp = int(matched.sum())
        class_pq.append(ious[matched].sum().item() /
                        (num_tp + 0.5 * (len(preds) - num_tp) + 0.5 *
                         (len(gts) - num_tp)))
    return sum(class_pq) / len(class_pq)


def train_costs(num_steps, gradient_sign=1., target=0.9, **layer_options):
    """Adam on free costs through layer + matching + surrogate loss.

    Returns:
        list[float]: the true PQ before each step (stops above target).
    """
    torch.manual_seed(0)
    semantic, gt_masks, gt_classes = ground_truth()
    # start: the stuff boundary three rows too high, strong pixel noise and
    # uniformly attractive edges (touching instances merge)
    start = semantic.clone()
    start[9:12][start[9:12] != THING] = STUFF_BOTTOM
    node_costs = -2 * F.one_hot(start, 3).permute(2, 0, 1)[None].float()
    node_costs = torch.nn.Parameter(node_costs +
                                    2.5 * torch.randn(1, 3, SIZE, SIZE))
    edge_costs = torch.nn.Parameter(0.5 +
                                    0.1 * torch.randn(1, 2, 2, SIZE, SIZE))
    layer = AMWCLayer(
        1,
        2,
        edge_distances=[1, 4],
        lambda_range=(1000., 20000.),
        num_samples=3,
        **layer_options)
    loss_fn = PQSurrogateLoss(1, 2, thing_min_area=10, stuff_min_area=20)
    optimizer = torch.optim.Adam([node_costs, edge_costs], lr=0.05)
    pan_seg = torch.where(gt_masks, torch.arange(5)[:, None, None] * 1000 +
                          gt_classes[:, None, None], 0).sum(0)
    regions, region_classes = panoptic_regions(pan_seg[None], -1)
    region_areas = torch.bincount(regions.flatten()).float()[None]
    pq_history = []
    for _ in range(num_steps):
        segments = layer(node_costs, edge_costs, regions)
        num_masks = int(segments.valid[0].sum())
        masks = segments.segment_ids[0] == torch.arange(num_masks)[:, None,
                                                                   None]
        pq_history.append(
            hard_pq(masks, segments.classes[0][:num_masks], gt_masks,
                    gt_classes))
        if pq_history[-1] > target:
            break
        loss = loss_fn(segments, region_classes, region_areas)
        optimizer.zero_grad()
        loss.backward()
        for costs in (node_costs, edge_costs):
            costs.grad.mul_(gradient_sign)
        optimizer.step()
    return pq_history


@pytest.mark.parametrize('target,options', [
    (0.75, dict()),
    (0.9, dict(plain_thing_labels=True)),
    (0.9, dict(baseline='mwc', plain_thing_labels=True)),
])
def test_adam_through_the_layer_raises_true_pq(target, options):
    # The original backward (AMWC baseline, plain labels only for classes
    # without a segment) reaches PQ 0.80 in ~30 steps and stays there
    # (measured over 300): two touching instances remain merged, since
    # without a plain thing label the perturbed solve cannot move pixels
    # out of the merged instance without changing their class. With
    # plain_thing_labels it passes 0.9 in ~30 steps.
    pq_history = train_costs(300, target=target, **options)
    assert pq_history[0] < 0.5
    assert pq_history[-1] > target, f'PQ history: {pq_history}'


def test_flipped_gradient_sign_does_not_learn():
    # the control: the same run with the opposite sign of the layer's
    # gradient (the correct one reaches PQ > 0.9 in about 30 steps)
    pq_history = train_costs(60, gradient_sign=-1.)
    assert max(pq_history) < 0.5, f'PQ history: {pq_history}'


def test_hard_pq_helper():
    _, gt_masks, gt_classes = ground_truth()
    assert hard_pq(gt_masks, gt_classes, gt_masks, gt_classes) == 1.0
    merged = torch.cat([gt_masks[:3].any(0, keepdim=True), gt_masks[3:]])
    # things: one prediction with IoU 1/3 -> 0 TP, 1 FP, 3 FN
    assert hard_pq(merged, gt_classes[2:], gt_masks, gt_classes) == 2 / 3
