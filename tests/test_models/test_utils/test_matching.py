"""Ground-truth regions and matching of predicted panoptic segments
(hand-made cases)."""
import pytest
import torch

from projects.cops.models.utils.panoptic_matching import (
    match_panoptic_segments, panoptic_regions, soft_iou)


def interval_ious(width, pred_intervals, gt_intervals):
    """[M, G] IoU of [start, end) intervals of one row."""
    ious = torch.zeros(len(pred_intervals), len(gt_intervals))
    for i, (a, b) in enumerate(pred_intervals):
        for j, (c, d) in enumerate(gt_intervals):
            overlap = max(0, min(b, d) - max(a, c))
            ious[i, j] = overlap / (b - a + d - c - overlap)
    return ious


def pairs(pred_indices, gt_indices, classes):
    return sorted(
        zip(pred_indices.tolist(), gt_indices.tolist(), classes.tolist()))


def test_panoptic_regions_index_segments_per_image():
    pan_seg = torch.tensor([[[5, 5, 1000, 255]], [[255, 7, 7, 7]]])
    regions, classes = panoptic_regions(pan_seg, 255)
    assert regions.tolist() == [[[0, 0, 1, -1]], [[-1, 0, 0, 0]]]
    assert classes.tolist() == [[5, 0], [7, -1]]


def test_soft_iou_of_statistics():
    iou = soft_iou(torch.tensor(5.), torch.tensor(10.), torch.tensor(10.), 0.)
    assert iou.item() == pytest.approx(5 / 15)
    assert soft_iou(torch.tensor(0.), torch.tensor(3.), torch.tensor(0.),
                    1.).item() == pytest.approx(1 / 4)


def test_hungarian_beats_greedy_matching():
    # A overlaps X best (8/15) but B only overlaps X (5/10): the matching
    # that maximises the summed IoU pairs A-Y and B-X.
    ious = interval_ious(20, [(2, 15), (0, 5)], [(0, 10), (10, 20)])
    classes = torch.zeros(2, dtype=torch.long)
    result = match_panoptic_segments(ious, classes, classes)
    assert pairs(*result) == [(0, 1, 0), (1, 0, 0)]


def test_swapped_order_unmatched_and_stuff_by_class():
    # things: classes 0, 1; stuff: 2
    ious = interval_ious(30, [(10, 20), (0, 10), (25, 30), (20, 25)],
                         [(0, 9), (11, 20), (20, 22), (0, 30)])
    pred_classes = torch.tensor([0, 0, 0, 2])
    gt_classes = torch.tensor([0, 0, 1, 2])
    result = match_panoptic_segments(ious, pred_classes, gt_classes)
    # pred 2 gets no ground truth of class 0: paired with an empty one;
    # ground truth 2 (class 1) has no prediction; stuff pairs by class.
    assert pairs(*result) == [(-1, 2, 1), (0, 1, 0), (1, 0, 0), (2, -1, 0),
                              (3, 3, 2)]
    assert result[2].tolist() == sorted(result[2].tolist())


def test_pairs_without_overlap_are_kept():
    # as in the original COPS: a Hungarian pair stays a pair (the loss
    # counts it as a false negative only), for things and stuff
    ious = torch.zeros(2, 2)
    classes = torch.tensor([0, 1])  # thing 0, stuff 1
    result = match_panoptic_segments(ious, classes, classes)
    assert pairs(*result) == [(0, 0, 0), (1, 1, 1)]


@pytest.mark.parametrize('num_preds,num_gts', [(0, 2), (2, 0), (0, 0)])
def test_empty_sides(num_preds, num_gts):
    ious = torch.zeros(num_preds, num_gts)
    pred_classes = torch.tensor([0, 1][:num_preds], dtype=torch.long)
    gt_classes = torch.tensor([0, 1][:num_gts], dtype=torch.long)
    pred_indices, gt_indices, classes = match_panoptic_segments(
        ious, pred_classes, gt_classes)
    assert len(classes) == num_preds + num_gts
    assert (pred_indices >= 0).sum() == num_preds
    assert (gt_indices >= 0).sum() == num_gts


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='ious must be'):
        match_panoptic_segments(
            torch.zeros(1, 1), torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(ValueError, match='pan_seg'):
        panoptic_regions(torch.zeros(4, 4, dtype=torch.long), 255)
