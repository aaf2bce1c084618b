"""Gradient check: training costs through the AMWC layer raises the true PQ.

Node and edge costs are free parameters; Adam minimises the PQ surrogate
loss of the layer's masks against a fixed 24x24 panoptic map with two stuff
classes and three touching instances of one thing class. The backward of the
layer is the only gradient path, so the true PQ can only rise if its sign and
mapping back to class / edge costs are right.
"""
import torch
import torch.nn.functional as F

from projects.cops.models.layers import AMWCLayer
from projects.cops.models.losses import PQSurrogateLoss
from projects.cops.models.utils.panoptic_matching import mask_iou_matrix

SIZE = 24
THING, STUFF_TOP, STUFF_BOTTOM = 0, 1, 2


def ground_truth():
    """Semantic map [24, 24] and segment masks [5, 24, 24] with classes."""
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


def hard_pq(pred_masks, pred_classes, gt_masks, gt_classes):
    """Panoptic quality (unique matching at IoU > 0.5), class average."""
    class_pq = []
    for cls in torch.unique(torch.cat([pred_classes, gt_classes])):
        preds = pred_masks[pred_classes == cls]
        gts = gt_masks[gt_classes == cls]
        ious = mask_iou_matrix(preds, gts)
        matched = ious > 0.5
        num_tp = int(matched.sum())
        class_pq.append(ious[matched].sum().item() /
                        (num_tp + 0.5 * (len(preds) - num_tp) + 0.5 *
                         (len(gts) - num_tp)))
    return sum(class_pq) / len(class_pq)


def train_costs(num_steps, gradient_sign=1.):
    """Adam on free costs through layer + matching + surrogate loss.

    Returns:
        list[float]: the true PQ before each step (stops above 0.9).
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
        num_samples=3)
    loss_fn = PQSurrogateLoss(1, 2, thing_min_area=10, stuff_min_area=20)
    optimizer = torch.optim.Adam([node_costs, edge_costs], lr=0.05)
    pq_history = []
    for _ in range(num_steps):
        masks, classes, valid = layer(node_costs, edge_costs)
        pq_history.append(
            hard_pq(masks[0][valid[0]].bool(), classes[0][valid[0]], gt_masks,
                    gt_classes))
        if pq_history[-1] > 0.9:
            break
        loss = loss_fn(masks, classes, valid, [gt_masks], [gt_classes])
        optimizer.zero_grad()
        loss.backward()
        for costs in (node_costs, edge_costs):
            costs.grad.mul_(gradient_sign)
        optimizer.step()
    return pq_history


def test_adam_through_the_layer_raises_true_pq():
    pq_history = train_costs(300)
    assert pq_history[0] < 0.5
    assert pq_history[-1] > 0.9, f'PQ history: {pq_history}'


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
