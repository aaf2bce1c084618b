"""Images of the COPS outputs besides the panoptic overlay (the original
code's ``MODEL.SAVE_RESULT_IMAGES``): the semantic map and the cut edges."""
from typing import Sequence, Tuple

import numpy as np
from mmengine.structures import PixelData

from ..models.utils import resize_grid_map

CUT_VALUE = 255  # grey level of a cut edge in the boundary images


def semantic_colour_map(
    sem_seg: np.ndarray,
    palette: Sequence[Tuple[int, int, int]],
    void_colour: Tuple[int, int, int] = (0, 0, 0)
) -> np.ndarray:
    """Colour a semantic map with the dataset palette.

    Args:
        sem_seg (np.ndarray): ``[H, W]`` int class labels; labels outside
            ``[0, len(palette))`` (void) get ``void_colour``.
        palette (Sequence[tuple]): RGB colour of each class.
        void_colour (tuple): RGB colour of void pixels.

    Returns:
        np.ndarray: ``[H, W, 3]`` uint8 RGB image.
    """
    lookup = np.array([*palette, void_colour], dtype=np.uint8)
    labels = np.asarray(sem_seg, dtype=np.int64)
    labels = np.where((labels >= 0) & (labels < len(palette)), labels,
                      len(palette))
    return lookup[labels]


def boundary_images(pred_boundaries: PixelData, img_shape: Sequence[int],
                    ori_shape: Sequence[int]) -> np.ndarray:
    """One image per edge offset of the edges the AMWC solution cuts.

    Args:
        pred_boundaries (PixelData): the detector's ``cut`` ``[2 * D, h, w]``
            on its output grid (offset ``k``, direction ``r`` at channel
            ``2 * k + r``; r = 0 the edge to the point below, 1 to the
            point right, stored on the first point) with metainfo
            ``edge_distances`` (D offsets) and ``stride``.
        img_shape (Sequence[int]): Image size seen by the network.
        ori_shape (Sequence[int]): Original image size ``(H, W)``.

    Returns:
        np.ndarray: ``[D, H, W]`` uint8, ``CUT_VALUE`` where the grid point
        under the pixel has a cut edge (either direction) at that offset,
        else 0.
    """
    cut = pred_boundaries.cut.cpu()  # the detector leaves it on its device
    num_edge_distances = len(pred_boundaries.edge_distances)
    if cut.shape[0] != 2 * num_edge_distances:
        raise ValueError(
            f'pred_boundaries.cut has {cut.shape[0]} channels, expected '
            f'2 * {num_edge_distances} for edge_distances '
            f'{pred_boundaries.edge_distances}')
    cut_any = cut.view(num_edge_distances, 2, *cut.shape[1:]).any(1)
    return np.stack([
        resize_grid_map(offset_cut, img_shape[:2], ori_shape[:2],
                        pred_boundaries.stride).numpy()
        for offset_cut in cut_any
    ]).astype(np.uint8) * CUT_VALUE
