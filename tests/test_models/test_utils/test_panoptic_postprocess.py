"""Post-processing of an AMWC solution into a panoptic result."""
import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET

from projects.cops.models.utils import (affinity_scores, amwc_panoptic_ids,
                                        amwc_to_panoptic, remove_small_segments,
                                        resize_grid_map, semantic_scores)

PARTITIONABLE = torch.tensor([True, False])  # class 0 thing, class 1 stuff
OFF = INSTANCE_OFFSET


def test_panoptic_ids_number_thing_clusters():
    labels = torch.tensor([1, 0, 0, 1, 0])
    clusters = torch.tensor([7, 9, 9, 7, 4])
    pan = amwc_panoptic_ids(labels, clusters, PARTITIONABLE)
    assert pan.tolist() == [1, 2 * OFF, 2 * OFF, 1, OFF]


def test_affinity_scores_as_original_mask_score():
    # points 0-1 segment 0, point 2 segment 1; edges 0-1 inside, 1-2 border;
    # the original: (sum over cut edges - sum over joined edges) / (2 h w)
    segments = torch.tensor([0, 0, 1])
    edges = torch.tensor([[0, 1], [1, 2]])
    edge_logits = torch.tensor([-1., 4.])
    scores = affinity_scores(segments, 2, edges, edge_logits, 6)
    torch.testing.assert_close(scores, torch.tensor([(4. + 1.) / 6, 4. / 6]))


def test_semantic_scores_average_upsampled_logits_over_the_mask():
    torch.manual_seed(0)
    sem_logits = torch.randn(3, 2, 3)
    pan_seg = torch.tensor([[OFF, OFF, 2, 2, 2, 1], [OFF, 2, 2, 2, 1, 1],
                            [1, 1, 1, 2 * OFF + 2, 1, 1],
                            [1, 1, 1, 1, 1, 1]])
    ids = torch.tensor([OFF, 2 * OFF + 2])
    scores = semantic_scores(pan_seg, ids, sem_logits, (4, 6), stride=2)
    # the original: F.interpolate(scale_factor=4 here 2, bilinear) of the
    # logits, mean over the full-resolution mask of the segment's class
    up = F.interpolate(
        sem_logits[None], scale_factor=2, mode='bilinear',
        align_corners=False)[0]
    torch.testing.assert_close(
        scores,
        torch.stack([up[0][pan_seg == OFF].mean(),
                     up[2][pan_seg == 2 * OFF + 2].mean()]))
    # an image resized for the network: crop to img_shape, then nearest
    resized = semantic_scores(
        pan_seg[:2, :3], ids[:1], sem_logits, (3, 5), stride=2)
    near = F.interpolate(
        up[None, :1, :3, :5], size=(2, 3), mode='nearest')[0, 0]
    torch.testing.assert_close(resized, near[pan_seg[:2, :3] == OFF].mean()[None])


def test_resize_grid_map_handles_resize_and_padding():
    grid = torch.arange(12).view(3, 4)
    # image resized 2x to 10 x 16, padded to 12 x 16: grid rows cover
    # resized rows [0, 4), [4, 8), [8, 12) -> original rows 0-1, 2-3, 4
    out = resize_grid_map(grid, img_shape=(10, 16), ori_shape=(5, 8), stride=4)
    assert out.shape == (5, 8)
    assert out[:, 0].tolist() == [0, 0, 4, 4, 8]
    assert out[0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_remove_small_segments():
    void = 2
    pan = torch.tensor([[OFF, OFF, 1, 1], [2 * OFF, 1, 1, void]])
    out = remove_small_segments(
        pan, PARTITIONABLE, void, instance_min_area=2, stuff_min_area=5)
    assert out.tolist() == [[OFF, OFF, void, void], [void, void, void, void]]


def test_amwc_to_panoptic_on_a_2x3_grid():
    # stuff column 0, one thing cluster in columns 1-2 row 0, a second
    # thing cluster at (1, 1)-(1, 2); stride 2, image 4 x 6, no resize.
    labels = torch.tensor([1, 0, 0, 1, 0, 0])
    clusters = torch.tensor([5, 3, 3, 5, 8, 8])
    sem_logits = torch.zeros(2, 2, 3)
    sem_logits[0, 0, 1:] = 2.
    edges = torch.tensor([[0, 3], [1, 4], [2, 5], [0, 1], [1, 2], [3, 4],
                          [4, 5]])
    edge_logits = torch.tensor([0., 3., 3., 1., -2., 1., -1.])

    def solve(instance_min_area):
        return amwc_to_panoptic(
            labels,
            clusters,
            sem_logits,
            edges,
            edge_logits,
            PARTITIONABLE,
            img_shape=(4, 6),
            ori_shape=(4, 6),
            stride=2,
            instance_min_area=instance_min_area,
            stuff_min_area=1)

    result = solve(instance_min_area=8)
    # the second instance has 8 pixels: kept; stuff: 8 pixels, kept
    expected_grid = torch.tensor([[1, OFF, OFF], [1, 2 * OFF, 2 * OFF]])
    expected = expected_grid.repeat_interleave(2, 0).repeat_interleave(2, 1)
    assert torch.equal(result['pan_seg'], expected)
    assert torch.equal(result['sem_seg'], expected % OFF)
    assert result['labels'].tolist() == [0, 0]
    assert result['masks'].shape == (2, 4, 6)
    assert torch.equal(result['masks'][0], expected == OFF)
    # semantic: mean of the x2 up-sampled class-0 logit over each mask;
    # boundary, over 2 h w = 12 positions: instance 1 border edges 1-4,
    # 2-5, 0-1 (sum 7) minus inside 1-2 (-2); instance 2 border 1-4, 2-5,
    # 3-4 (7) minus inside 4-5 (-1)
    up = F.interpolate(
        sem_logits[None], scale_factor=2, mode='bilinear',
        align_corners=False)[0, 0]
    torch.testing.assert_close(
        result['scores'],
        torch.stack([
            up[expected == OFF].mean() + 9 / 12,
            up[expected == 2 * OFF].mean() + 8 / 12
        ]))

    small = solve(instance_min_area=9)
    assert (small['pan_seg'][:, 2:] == 2).all()
    assert small['masks'].shape == (0, 4, 6)
