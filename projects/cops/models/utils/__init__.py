"""utils of the COPS project."""
from .grid_amwc import GridProblems, grid_problems, solve_grid_amwc
from .grid_targets import stack_grid_targets, stack_pixel_targets
from .panoptic_postprocess import (affinity_scores, amwc_panoptic_ids,
                                   amwc_to_panoptic, remove_small_segments,
                                   resize_grid_map, semantic_scores)
