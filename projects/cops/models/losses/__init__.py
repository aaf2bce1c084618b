"""Losses of the COPS project."""
from .hard_pixel_ce_loss import HardPixelCELoss
from .topk_boundary_bce_loss import TopKBoundaryBCELoss

__all__ = ['HardPixelCELoss', 'TopKBoundaryBCELoss']
