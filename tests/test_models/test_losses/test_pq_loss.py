"""PQ surrogate loss: equals 1 - PQ on hard, exactly matching masks."""
import pytest
import torch
from dense_segments import dense_segments

from mmdet.registry import MODELS
from projects.cops.models.losses.pq_surrogate_loss import (PQSurrogateLoss,
                                                           soft_threshold)

# things: 0, 1; stuff: 2, 3. Large negative min areas make every non-empty
# mask a sure foreground (probability 1.0 in float32).
SURE_FOREGROUND = dict(thing_min_area=-1e3, stuff_min_area=-1e3)


def box(top, bottom, left, right, size=8):
    mask = torch.zeros(size, size)
    mask[top:bottom, left:right] = 1
    return mask


def scene():
    """One 8x8 image: ground truth and hard predictions.

    stuff 2 and 3 predicted exactly; thing 0 has instances a, b of which only
    a is predicted (exactly); thing 1 has one predicted mask and no ground
    truth. Hard PQ: classes 2, 3: 1; class 0: 1 / (1 + 0.5); class 1: 0.
    """
    stuff_3 = box(4, 8, 0, 8) - box(4, 6, 0, 4)
    gt_masks = torch.stack(
        [box(4, 6, 0, 2),
         box(4, 6, 2, 4),
         box(0, 4, 0, 8), stuff_3])
    gt_classes = torch.tensor([0, 0, 2, 3])
    pred_masks = torch.stack(
        [box(0, 4, 0, 8), stuff_3,
         box(4, 6, 0, 2),
         box(6, 8, 0, 2)])
    pred_classes = torch.tensor([2, 3, 0, 1])
    return pred_masks, pred_classes, gt_masks, gt_classes


def batched(pred_masks, pred_classes):
    return (pred_masks[None].clone().requires_grad_(), pred_classes[None],
            torch.ones(1, len(pred_classes), dtype=torch.bool))


def loss_of(loss, masks, classes, valid, gt_masks, gt_classes, weights=None):
    return loss(*dense_segments(masks, classes, valid, gt_masks, gt_classes,
                                weights))


def test_loss_is_one_minus_pq_for_hard_masks():
    pred_masks, pred_classes, gt_masks, gt_classes = scene()
    hard_pq = (1 + 1 + 2 / 3 + 0) / 4
    loss = PQSurrogateLoss(2, 2, eps=0., **SURE_FOREGROUND)
    value = loss_of(loss, *batched(pred_masks, pred_classes), [gt_masks],
                    [gt_classes])
    assert value.item() == pytest.approx(1 - hard_pq, abs=1e-6)
    # with the default eps the per-class ratios are smoothed by eps = 0.1
    loss = PQSurrogateLoss(2, 2, loss_weight=2., **SURE_FOREGROUND)
    value = loss_of(loss, *batched(pred_masks, pred_classes), [gt_masks],
                    [gt_classes])
    smoothed_pq = (1 + 1 + 1.1 / 1.6 + 0.1 / 0.6) / 4
    assert value.item() == pytest.approx(2 * (1 - smoothed_pq), abs=1e-5)


def test_perfect_prediction_has_zero_loss():
    _, _, gt_masks, gt_classes = scene()
    loss = PQSurrogateLoss(2, 2, **SURE_FOREGROUND)
    value = loss_of(loss, *batched(gt_masks.flip(0), gt_classes.flip(0)),
                    [gt_masks], [gt_classes])
    assert value.item() == pytest.approx(0., abs=1e-6)


def test_ignored_pixels_and_padding_do_not_count():
    _, _, gt_masks, gt_classes = scene()
    pred_masks = gt_masks.clone()
    pred_masks[2, 0, :] = 0  # wrong only on ignored pixels of row 0
    padded = torch.cat([pred_masks, torch.ones(1, 8, 8)])
    classes = torch.cat([gt_classes, torch.tensor([-1])])
    valid = torch.tensor([[True] * 4 + [False]])
    weights = torch.ones(1, 8, 8)
    weights[0, 0] = 0
    loss = PQSurrogateLoss(2, 2, **SURE_FOREGROUND)
    value = loss_of(loss, padded[None], classes[None], valid, [gt_masks],
                    [gt_classes], weights)
    assert value.item() == pytest.approx(0., abs=1e-6)
    assert loss_of(loss, padded[None], classes[None], valid, [gt_masks],
                   [gt_classes]).item() > 0.01


def test_gradient_grows_the_matched_mask_towards_ground_truth():
    gt_masks = torch.stack([box(0, 8, 0, 4), box(0, 8, 4, 8)])
    gt_classes = torch.tensor([0, 2])
    pred_masks = torch.stack([box(0, 8, 0, 3), box(0, 8, 3, 8)])
    masks, classes, valid = batched(pred_masks, gt_classes)
    loss = PQSurrogateLoss(1, 2, thing_min_area=4, stuff_min_area=4)
    loss_of(loss, masks, classes, valid, [gt_masks], [gt_classes]).backward()
    # column 3 belongs to the instance in the ground truth
    assert (masks.grad[0, 0, :, 3] < 0).all()
    assert (masks.grad[0, 1, :, 3] > 0).all()


def test_zero_instance_zero_stuff_images_and_batch_classes():
    stuff_image = (torch.stack([box(0, 4, 0, 8),
                                box(4, 8, 0, 8)]), torch.tensor([2, 3]))
    thing_image = (torch.stack([box(0, 2, 0, 2),
                                box(4, 8, 4, 8)]), torch.tensor([0, 1]))
    masks = torch.stack([stuff_image[0], thing_image[0]])
    classes = torch.stack([stuff_image[1], thing_image[1]])
    valid = torch.ones(2, 2, dtype=torch.bool)
    loss = PQSurrogateLoss(2, 2, eps=0., **SURE_FOREGROUND)
    gts = [stuff_image[0], thing_image[0][:1]]
    gt_classes = [stuff_image[1], thing_image[1][:1]]
    # everything exact except a false positive of class 1 in image 2
    value = loss_of(loss, masks, classes, valid, gts, gt_classes)
    assert value.item() == pytest.approx(1 - 3 / 4, abs=1e-6)
    no_gt = loss_of(loss, masks, classes, valid, [gts[0][:0]] * 2,
                    [gt_classes[0][:0]] * 2)
    assert no_gt.item() == pytest.approx(1., abs=1e-6)
    no_pred = loss_of(loss, masks[:, :0], classes[:, :0], valid[:, :0], gts,
                      gt_classes)
    assert no_pred.item() == pytest.approx(1., abs=1e-6)


def test_original_terms_paired_without_overlap_is_a_false_negative_only():
    # one thing prediction and one ground truth of its class, disjoint: the
    # Hungarian pair is kept, so the prediction is no false positive
    # (original COPS): PQ_0 = eps / (0.5 * fn + eps) with fn = 1 - t(iou)
    gt_masks = box(0, 4, 0, 4)[None]
    pred = box(4, 8, 4, 8)[None]
    loss = PQSurrogateLoss(1, 1, **SURE_FOREGROUND)
    value = loss_of(loss, *batched(pred, torch.tensor([0])), [gt_masks],
                    [torch.tensor([0])])
    iou = torch.tensor(0.1 / 32.1)
    expected = 1 - 0.1 / (0.5 * (1 - soft_threshold(iou)) + 0.1)
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


def test_soft_threshold_is_a_step_at_one_half():
    iou = torch.tensor([0., 0.25, 0.5, 0.75, 1.])
    expected = torch.tensor([0., 1 / 82, 0.5, 81 / 82, 1.])
    assert torch.allclose(soft_threshold(iou), expected)


def test_foreground_probability_uses_class_kind_and_area():
    loss = MODELS.build(
        dict(
            type='PQSurrogateLoss',
            num_things_classes=1,
            num_stuff_classes=1,
            thing_min_area=4,
            stuff_min_area=40))
    areas = torch.tensor([4., 4., 0.])
    probs = loss.foreground_probability(areas, torch.tensor([0, 1, 0]))
    assert probs[0].item() == pytest.approx(0.5)
    assert probs[1].item() == pytest.approx(
        torch.sigmoid(torch.tensor(-3.6)).item())
    assert probs[2].item() == 0


def test_bad_inputs_are_named():
    loss = PQSurrogateLoss(1, 1)
    masks = torch.zeros(1, 2, 4, 4)
    classes = torch.zeros(1, 2, dtype=torch.long)
    valid = torch.ones(1, 2, dtype=torch.bool)
    segments, gt_classes, gt_areas = dense_segments(masks, classes, valid,
                                                    [masks[0]], [classes[0]])
    with pytest.raises(ValueError, match='overlaps'):
        loss(segments, gt_classes[:, :1], gt_areas[:, :1])
    with pytest.raises(ValueError, match='gt_areas'):
        loss(segments, gt_classes, gt_areas[0])
    with pytest.raises(ValueError, match='num_things_classes'):
        PQSurrogateLoss(0, 0)
