"""Visualisation of the COPS outputs."""
from .result_images import boundary_images, semantic_colour_map

__all__ = ['boundary_images', 'semantic_colour_map']
