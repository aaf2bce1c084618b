# Copyright (c) OpenMMLab. All rights reserved.
"""Compiled ops of the COPS project: the AMWC / MWC solver and grid graphs."""
from .amwc import (AMWCResult, MWCResult, solve_amwc, solve_amwc_batch,
                   solve_mwc, solve_mwc_batch)
from .grid_graph import (edge_values_to_grid_maps, grid_graph,
                         grid_maps_to_edge_values)

__all__ = [
    'AMWCResult', 'MWCResult', 'solve_amwc', 'solve_amwc_batch', 'solve_mwc',
    'solve_mwc_batch', 'grid_graph', 'grid_maps_to_edge_values',
    'edge_values_to_grid_maps'
]
