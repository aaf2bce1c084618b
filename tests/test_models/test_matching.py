"""Ground-truth matching of predicted panoptic segments (hand-made cases)."""
import pytest
import torch

from projects.cops.models.utils.panoptic_matching import (
    mask_iou_matrix, match_panoptic_segments)


def interval_masks(width, intervals):
    """[len(intervals), 1, width] bool masks covering [start, end) of a row."""
    masks = torch.zeros(len(intervals), 1, width, dtype=torch.bool)
    for mask, (start, end) in zip(masks, intervals):
        mask[0, start:end] = True
    return masks


def pairs(pred_indices, gt_indices, classes):
    return sorted(
        zip(pred_indices.tolist(), gt_indices.tolist(), classes.tolist()))


def test_iou_matrix_is_weighted():
    preds = interval_masks(20, [(0, 10), (10, 20)])
    gts = interval_masks(20, [(5, 15)])
    ious = mask_iou_matrix(preds, gts)
    assert torch.allclose(ious, torch.tensor([[5 / 15], [5 / 15]]))
    weights = torch.ones(1, 20)
    weights[0, 10:15] = 0
    ious = mask_iou_matrix(preds, gts, weights)
    assert torch.allclose(ious, torch.tensor([[5 / 10], [0.]]))


def test_hungarian_beats_greedy_matching():
    # A overlaps X best (8/15) but B only overlaps X (5/10): the matching
    # that maximises the summed IoU pairs A-Y and B-X.
    gts = interval_masks(20, [(0, 10), (10, 20)])  # X, Y
    preds = interval_masks(20, [(2, 15), (0, 5)])  # A, B
    classes = torch.zeros(2, dtype=torch.long)
    result = match_panoptic_segments(preds, classes, gts, classes, 1)
    assert pairs(*result) == [(0, 1, 0), (1, 0, 0)]


def test_swapped_order_unmatched_and_stuff_by_class():
    # things: classes 0, 1; stuff: 2
    preds = interval_masks(30, [(10, 20), (0, 10), (25, 30), (20, 25)])
    pred_classes = torch.tensor([0, 0, 0, 2])
    gts = interval_masks(30, [(0, 9), (11, 20), (20, 22), (0, 30)])
    gt_classes = torch.tensor([0, 0, 1, 2])
    result = match_panoptic_segments(preds, pred_classes, gts, gt_classes, 2)
    # pred 2 overlaps no ground truth of class 0: paired with an empty one;
    # ground truth 2 (class 1) has no prediction; stuff pairs by class.
    assert pairs(*result) == [(-1, 2, 1), (0, 1, 0), (1, 0, 0), (2, -1, 0),
                              (3, 3, 2)]
    assert result[2].tolist() == sorted(result[2].tolist())


def test_stuff_pairs_without_overlap_things_do_not():
    preds = interval_masks(10, [(0, 5), (0, 5)])
    gts = interval_masks(10, [(5, 10), (5, 10)])
    classes = torch.tensor([0, 1])  # thing 0, stuff 1
    result = match_panoptic_segments(preds, classes, gts, classes, 1)
    assert pairs(*result) == [(-1, 0, 0), (0, -1, 0), (1, 1, 1)]


@pytest.mark.parametrize('num_preds,num_gts', [(0, 2), (2, 0), (0, 0)])
def test_empty_sides(num_preds, num_gts):
    preds = interval_masks(10, [(0, 5), (5, 10)][:num_preds])
    gts = interval_masks(10, [(0, 5), (5, 10)][:num_gts])
    pred_classes = torch.tensor([0, 1][:num_preds], dtype=torch.long)
    gt_classes = torch.tensor([0, 1][:num_gts], dtype=torch.long)
    pred_indices, gt_indices, classes = match_panoptic_segments(
        preds, pred_classes, gts, gt_classes, 1)
    assert len(classes) == num_preds + num_gts
    assert (pred_indices >= 0).sum() == num_preds
    assert (gt_indices >= 0).sum() == num_gts


def test_zero_instance_and_zero_stuff_images():
    stuff_only = interval_masks(10, [(0, 6), (6, 10)])
    stuff_classes = torch.tensor([2, 3])
    result = match_panoptic_segments(stuff_only, stuff_classes, stuff_only,
                                     stuff_classes, 2)
    assert pairs(*result) == [(0, 0, 2), (1, 1, 3)]
    things = interval_masks(10, [(0, 3), (3, 6), (6, 10)])
    thing_classes = torch.tensor([0, 0, 1])
    result = match_panoptic_segments(things, thing_classes, things.flip(0),
                                     thing_classes.flip(0), 2)
    assert pairs(*result) == [(0, 2, 0), (1, 1, 0), (2, 0, 1)]


def test_bad_inputs_are_named():
    masks = interval_masks(10, [(0, 5)])
    classes = torch.tensor([0])
    with pytest.raises(ValueError, match='pred_classes'):
        match_panoptic_segments(masks, torch.tensor([0, 1]), masks, classes, 1)
    with pytest.raises(ValueError, match='differ in size'):
        match_panoptic_segments(masks, classes, masks[:, :, :5], classes, 1)
    with pytest.raises(ValueError, match='weights'):
        match_panoptic_segments(masks, classes, masks, classes, 1,
                                torch.ones(2, 2))
