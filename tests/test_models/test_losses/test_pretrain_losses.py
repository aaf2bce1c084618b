"""Stage-1 losses: hard-pixel-mining CE and top-k boundary BCE."""
import math

import pytest
import torch
import torch.nn.functional as F

import projects.cops  # noqa: F401
from mmdet.registry import MODELS
from projects.cops.models.losses import HardPixelCELoss, TopKBoundaryBCELoss


def test_hard_pixel_ce_keeps_hardest_positions():
    # 4 pixels, 2 classes: per-pixel CE of logits (0, 0) is log 2, of
    # (4, 0) for class 0 is log(1 + e^-4); the void pixel is a position
    # with loss 0 (detectron2's DeepLabCE, used by the original).
    logits = torch.tensor([[0., 0.], [4., 0.], [0., 0.], [9., 0.]])
    logits = logits.t().reshape(1, 2, 2, 2)
    target = torch.tensor([[[0, 0], [1, 255]]])
    weight = torch.tensor([[[1., 1.], [3., 1.]]])
    easy, hard = math.log1p(math.exp(-4)), math.log(2)
    all_pixels = HardPixelCELoss(top_k_ratio=1.0)(logits, target, weight)
    assert all_pixels.item() == pytest.approx((hard + easy + 3 * hard) / 4)
    # top int(0.5 * 4) = 2 positions: 3 log 2 and log 2
    hardest = HardPixelCELoss(
        top_k_ratio=0.5, loss_weight=2.0)(logits, target, weight)
    assert hardest.item() == pytest.approx(2 * (3 * hard + hard) / 2)
    # int(0.2 * 4) = 0 -> at least the hardest one
    hardest = HardPixelCELoss(top_k_ratio=0.2)(logits, target, weight)
    assert hardest.item() == pytest.approx(3 * hard)


def test_topk_boundary_bce_sums_one_term_per_offset_and_direction():
    # 2 offsets x 2 directions of a 2x2 map: 4 positions per map, so the
    # top 25 % is the hardest pair of each map and the top 50 % its two
    # hardest; zero-weight positions count as positions with loss 0.
    log2 = math.log(2)
    logits = torch.zeros(1, 2, 2, 2, 2)
    target = torch.ones_like(logits)
    weight = torch.zeros_like(logits)
    weight[0, 0, 0] = torch.tensor([[1., 4.], [12., 0.]])
    weight[0, 0, 1] = torch.tensor([[1., 1.], [0., 0.]])
    weight[0, 1, 0] = torch.tensor([[0., 0.], [0., 0.]])
    weight[0, 1, 1] = torch.tensor([[4., 0.], [0., 0.]])
    logits[0, 1, 1, 0, 1] = 3.  # weight 0: never counts
    loss = TopKBoundaryBCELoss(
        top_k_ratio=0.25, loss_weight=0.25)(logits, target, weight)
    assert loss.item() == pytest.approx(0.25 * log2 * (12 + 1 + 0 + 4))
    loss = TopKBoundaryBCELoss(
        top_k_ratio=0.5, loss_weight=0.25)(logits, target, weight)
    expected = (12 + 4) / 2 + (1 + 1) / 2 + 0 + (4 + 0) / 2
    assert loss.item() == pytest.approx(0.25 * log2 * expected)
    # the same as summing the loss of each (offset, direction) map alone
    single = TopKBoundaryBCELoss(top_k_ratio=0.5, loss_weight=0.25)
    terms = sum(
        single(logits[:, k:k + 1, :, :, :], target[:, k:k + 1],
               weight[:, k:k + 1] * mask) for k in range(2)
        for mask in (torch.tensor([1., 0.]).view(1, 1, 2, 1, 1),
                     torch.tensor([0., 1.]).view(1, 1, 2, 1, 1)))
    assert loss.item() == pytest.approx(terms.item())


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
    with pytest.raises(ValueError, match='D, 2, h, w'):
        TopKBoundaryBCELoss()(*[torch.zeros(1, 2, 3, 3)] * 3)


def test_semantic_loss_on_upsampled_logits_at_input_resolution():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='COPSSemanticHead',
            decoder=dict(
                type='DeepLabV3PlusDecoder',
                in_channels=(4, 4, 4),
                aspp_channels=4,
                aspp_dilations=(2, 3),
                project_channels=(4, 4),
                decoder_channels=4),
            num_classes=3,
            head_channels=4,
            loss_sem=dict(type='HardPixelCELoss', top_k_ratio=0.2)))
    sem_logits = torch.randn(2, 3, 4, 5)
    labels = torch.randint(0, 3, (2, 16, 20))
    labels[:, :2] = 255
    weights = torch.rand(2, 16, 20)
    loss = head.loss(
        sem_logits, dict(pixel_sem_seg=labels, pixel_sem_weights=weights))
    # detectron2 DeepLabCE on F.interpolate(scale_factor=4) of the logits
    up = F.interpolate(
        sem_logits, scale_factor=4, mode='bilinear', align_corners=False)
    per_pixel = F.cross_entropy(
        up, labels, ignore_index=255, reduction='none') * weights
    expected = per_pixel.flatten().topk(int(0.2 * 2 * 16 * 20)).values.mean()
    assert loss['loss_sem'].item() == pytest.approx(expected.item())
