"""COPS targets on a hand-made 8x8 example (stride 2 -> 4x4 grid)."""
import numpy as np
import pytest
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.structures.mask import BitmapMasks

from projects.cops.datasets.transforms import (GenerateCOPSTargets,
                                               PackCOPSInputs, cops_targets)
from projects.cops.models.utils import (stack_grid_targets,
                                       stack_pixel_targets)

V = 255  # void
A = INSTANCE_OFFSET  # instance 1 of class 0
B = 2 * INSTANCE_OFFSET  # instance 2 of class 0

# The grid: stuff 3 / stuff 4, two touching instances A, B of class 0, and
# a void corner. Every grid cell is a 2x2 block of the 8x8 image.
GRID_SEM = np.array([[3, 3, 4, 4], [0, 0, 0, 4], [0, 0, 0, 4], [V, V, 4, 4]])
GRID_A = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
GRID_B = np.array([[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]])

EXPECTED_PAN = np.array([[3, 3, 4, 4], [A, A, B, 4], [A, A, B, 4],
                         [V, V, 4, 4]])
# B has 8 pixels < small_instance_area = 10: weight 3; void: 0.
EXPECTED_SEM_WEIGHTS = np.array([[1, 1, 1, 1], [1, 1, 3, 1], [1, 1, 3, 1],
                                 [0, 0, 1, 1]])
# [offset, direction (0 vertical, 1 horizontal), y, x], value on the
# top / left pixel of the pair; pairs touching void or leaving the grid: 0.
EXPECTED_BOUNDARY = np.array([
    [[[1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]],
     [[0, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]],
    [[[1, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
     [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]],
])
# A pair weighs the larger of its pixels' weights (as the original): 1 for
# stuff, 4 for instance A, 4 x 3 = 12 for the small instance B.
EXPECTED_BOUNDARY_WEIGHTS = np.array([
    [[[4, 4, 12, 1], [4, 4, 12, 1], [0, 0, 12, 1], [0, 0, 0, 0]],
     [[1, 1, 1, 0], [4, 12, 12, 0], [4, 12, 12, 0], [0, 0, 1, 0]]],
    [[[4, 4, 12, 1], [0, 0, 12, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
     [[1, 1, 0, 0], [12, 4, 0, 0], [12, 4, 0, 0], [0, 0, 0, 0]]],
])
KWARGS = dict(
    edge_distances=(1, 2),
    stride=2,
    small_instance_area=10,
    small_instance_weight=3.0,
    instance_boundary_weight=4.0)


def full_resolution():
    """The 8x8 inputs; off-centre pixels disagree with the sampled ones to
    check that each grid point samples the centre pixel (2i + 1, 2j + 1)."""
    block = np.ones((2, 2), dtype=np.int64)
    sem = np.kron(GRID_SEM, block).astype(np.uint8)
    sem[0, 0] = V
    sem[6, 0] = 3
    masks = np.stack([np.kron(GRID_A, block), np.kron(GRID_B, block)])
    return sem, masks.astype(np.uint8)


def test_targets_match_hand_made_example():
    sem, masks = full_resolution()
    targets = cops_targets(sem, masks, None, **KWARGS)
    np.testing.assert_array_equal(targets['sem_seg'], GRID_SEM)
    np.testing.assert_array_equal(targets['pan_seg'], EXPECTED_PAN)
    np.testing.assert_array_equal(targets['sem_weights'], EXPECTED_SEM_WEIGHTS)
    np.testing.assert_array_equal(targets['boundary'], EXPECTED_BOUNDARY)
    np.testing.assert_array_equal(targets['boundary_weights'],
                                  EXPECTED_BOUNDARY_WEIGHTS)
    assert targets['boundary'].dtype == np.float32
    assert targets['sem_seg'].dtype == np.int64


def test_crowd_instance_keeps_class_but_no_pairs():
    sem, masks = full_resolution()
    targets = cops_targets(sem, masks, np.array([False, True]), **KWARGS)
    is_b = GRID_B.astype(bool)
    np.testing.assert_array_equal(targets['sem_seg'], GRID_SEM)
    assert (targets['pan_seg'][is_b] == V).all()
    assert (targets['sem_weights'][is_b] == 1).all()
    # vertical d=1 pair (0, 2)-(1, 2) and horizontal (1, 1)-(1, 2) touch B
    assert targets['boundary_weights'][0, 0, 0, 2] == 0
    assert targets['boundary_weights'][0, 1, 1, 1] == 0
    assert targets['boundary_weights'][0, 1, 1, 0] == 4


def test_grid_size_is_ceil_of_image_size():
    sem = np.full((9, 7), 3, dtype=np.uint8)
    targets = cops_targets(
        sem,
        np.zeros((0, 9, 7), np.uint8),
        None,
        edge_distances=(1, 8),
        stride=4)
    assert targets['sem_seg'].shape == (3, 2)
    assert targets['boundary'].shape == (2, 2, 3, 2)
    # offset 8 leaves the 3x2 grid: no pair at all
    assert not targets['boundary_weights'][1].any()


def test_transform_pack_and_stack():
    sem, masks = full_resolution()
    transform = GenerateCOPSTargets(**KWARGS)
    results = transform(
        dict(
            img=np.zeros((8, 8, 3), np.uint8),
            gt_seg_map=sem,
            gt_masks=BitmapMasks(masks, 8, 8),
            gt_ignore_flags=np.array([False, False]),
            img_shape=(8, 8)))
    results = PackCOPSInputs()(results)
    packed = results['data_samples'].gt_cops_targets
    assert packed.shape == (4, 4)
    assert packed.boundary.shape == (4, 4, 4)
    stacked = stack_grid_targets([packed, packed], (5, 6))
    assert stacked['boundary'].shape == (2, 2, 2, 5, 6)
    torch.testing.assert_close(stacked['boundary'][1, :, :, :4, :4],
                               torch.from_numpy(EXPECTED_BOUNDARY).float())
    assert (stacked['sem_seg'][:, 4:] == V).all()
    assert (stacked['pan_seg'][:, :, 4:] == V).all()
    assert stacked['boundary_weights'][..., 4:, :].sum() == 0
    assert stacked['sem_weights'][..., 4:].sum() == 0
    # input-resolution semantic targets for the x4 up-sampled logits
    pixel = results['data_samples'].gt_cops_pixel_targets
    np.testing.assert_array_equal(pixel.sem_seg[0].numpy(), sem)
    expected = np.where(masks[1] > 0, 3., 1.)  # B is small
    expected[sem == V] = 0
    np.testing.assert_array_equal(pixel.sem_weights[0].numpy(), expected)
    pixel_stacked = stack_pixel_targets([pixel, pixel], (10, 12))
    assert pixel_stacked['sem_seg'].shape == (2, 10, 12)
    assert (pixel_stacked['sem_seg'][:, 8:] == V).all()
    assert pixel_stacked['sem_weights'][:, :, 8:].sum() == 0
    # the grid weights sample the pixel weights at the grid points
    np.testing.assert_array_equal(expected[1::2, 1::2],
                                  packed.sem_weights[0].numpy())


def test_bad_inputs_raise():
    sem, masks = full_resolution()
    with pytest.raises(ValueError, match='instance_masks'):
        cops_targets(sem, masks[:, :4], None, **KWARGS)
    with pytest.raises(ValueError, match='1 flags for 2 instance masks'):
        cops_targets(sem, masks, np.array([True]), **KWARGS)
    with pytest.raises(ValueError, match='edge_distances'):
        GenerateCOPSTargets(edge_distances=(0, 1))
    with pytest.raises(KeyError, match='gt_masks'):
        GenerateCOPSTargets(**KWARGS)(dict(gt_seg_map=sem))
    packed = PackCOPSInputs()(
        GenerateCOPSTargets(**KWARGS)(dict(
            gt_seg_map=sem, gt_masks=BitmapMasks(masks, 8, 8))))
    with pytest.raises(ValueError, match='exceeds'):
        stack_grid_targets([packed['data_samples'].gt_cops_targets], (3, 4))
