"""Result images: semantic colour map and cut-edge maps."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from projects.cops.visualization import boundary_images, semantic_colour_map


def test_semantic_colour_map_uses_palette_and_void_colour():
    palette = [(10, 20, 30), (40, 50, 60)]
    sem = np.array([[0, 1], [2, 255]])
    image = semantic_colour_map(sem, palette, void_colour=(1, 2, 3))
    assert image.dtype == np.uint8 and image.shape == (2, 2, 3)
    np.testing.assert_array_equal(
        image, [[[10, 20, 30], [40, 50, 60]], [[1, 2, 3], [1, 2, 3]]])


def test_boundary_images_per_offset_at_original_size():
    # 2 x 3 grid, offsets (1, 2), stride 2, image 4 x 6 seen at 4 x 6
    cut = torch.zeros(4, 2, 3, dtype=torch.bool)
    cut[0, 0, 1] = True  # offset 1, vertical edge from point (0, 1)
    cut[3, 1, 0] = True  # offset 2, horizontal edge from point (1, 0)
    boundaries = PixelData(
        metainfo=dict(edge_distances=(1, 2), stride=2), cut=cut)
    images = boundary_images(boundaries, (4, 6), (4, 6))
    assert images.shape == (2, 4, 6) and images.dtype == np.uint8
    expected = np.zeros((2, 4, 6), np.uint8)
    expected[0, 0:2, 2:4] = 255
    expected[1, 2:4, 0:2] = 255
    np.testing.assert_array_equal(images, expected)


def test_boundary_images_check_channels():
    boundaries = PixelData(
        metainfo=dict(edge_distances=(1, 2, 4), stride=4),
        cut=torch.zeros(4, 2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match='4 channels, expected 2 \\* 3'):
        boundary_images(boundaries, (8, 8), (8, 8))
