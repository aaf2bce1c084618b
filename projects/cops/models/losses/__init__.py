"""Losses of the COPS project."""
from .hard_pixel_ce_loss import HardPixelCELoss
from .pq_surrogate_loss import PQSurrogateLoss
from .topk_boundary_bce_loss import TopKBoundaryBCELoss

__all__ = ['HardPixelCELoss', 'PQSurrogateLoss', 'TopKBoundaryBCELoss']
