"""Stage-1 losses: hard-pixel-mining CE and top-k boundary BCE."""
import math

import pytest
import torch
import torch.nn.functional as F

from projects.cops.models.losses import HardPixelCELoss, TopKBoundaryBCELoss


def test_hard_pixel_ce_keeps_hardest_weighted_pixels():
    # 4 pixels, 2 classes: per-pixel CE of logits (0, 0) is log 2, of
    # (4, 0) for class 0 is log(1 + e^-4); the void pixel never counts.
    logits = torch.tensor([[0., 0.], [4., 0.], [0., 0.], [9., 0.]])
    logits = logits.t().reshape(1, 2, 2, 2)
    target = torch.tensor([[[0, 0], [1, 255]]])
    weight = torch.tensor([[[1., 1.], [3., 1.]]])
    easy, hard = math.log1p(math.exp(-4)), math.log(2)
    all_pixels = HardPixelCELoss(top_k_ratio=1.0)(logits, target, weight)
    assert all_pixels.item() == pytest.approx((hard + easy + 3 * hard) / 3)
    # top 1/3 of the 3 labelled pixels: the weighted one (3 log 2)
    hardest = HardPixelCELoss(
        top_k_ratio=0.3, loss_weight=2.0)(logits, target, weight)
    assert hardest.item() == pytest.approx(2 * 3 * hard)


def test_topk_boundary_bce_ignores_zero_weights():
    logits = torch.tensor([0., 2., -2., 5.])
    target = torch.tensor([1., 1., 1., 0.])
    weight = torch.tensor([4., 1., 1., 0.])
    per_pair = F.binary_cross_entropy_with_logits(
        logits, target, reduction='none') * weight
    loss = TopKBoundaryBCELoss(
        top_k_ratio=0.5, loss_weight=0.25)(logits, target, weight)
    # 3 weighted pairs -> ceil(1.5) = 2 hardest: 4 log 2 and BCE(-2, 1)
    expected = 0.25 * (per_pair[0] + per_pair[2]) / 2
    assert loss.item() == pytest.approx(expected.item())


def test_losses_without_labels_are_zero_with_gradient():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    loss = HardPixelCELoss()(logits, torch.full((1, 2, 2), 255),
                             torch.ones(1, 2, 2))
    loss.backward()
    assert loss.item() == 0 and logits.grad is not None
    boundary = torch.randn(1, 2, 2, 3, 3, requires_grad=True)
    loss = TopKBoundaryBCELoss()(boundary, torch.ones_like(boundary),
                                 torch.zeros_like(boundary))
    loss.backward()
    assert loss.item() == 0 and boundary.grad is not None


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='top_k_ratio'):
        HardPixelCELoss(top_k_ratio=0)
    with pytest.raises(ValueError, match='top_k_ratio'):
        TopKBoundaryBCELoss(top_k_ratio=1.5)
    with pytest.raises(ValueError, match='shape mismatch'):
        HardPixelCELoss()(torch.zeros(1, 2, 3, 3),
                          torch.zeros(1, 3, 3, dtype=torch.long),
                          torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match='shape mismatch'):
        TopKBoundaryBCELoss()(torch.zeros(4), torch.zeros(4), torch.zeros(3))
