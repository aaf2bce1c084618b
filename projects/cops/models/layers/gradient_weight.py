"""Identity whose backward multiplies the gradient by a weight map."""
import torch
from torch import Tensor


class _WeightGradient(torch.autograd.Function):

    @staticmethod
    def forward(ctx, tensor: Tensor, weights: Tensor) -> Tensor:
        ctx.save_for_backward(weights)
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, grad: Tensor):
        weights, = ctx.saved_tensors
        return grad * weights, None


def weight_gradient(tensor: Tensor, weights: Tensor) -> Tensor:
    """``tensor`` unchanged; its gradient is multiplied by ``weights``
    (broadcast to ``tensor``'s shape).

    COPS masks the solver's gradients this way: node costs by the panoptic
    pixel weights (0 on void), edge costs by the boundary weights (0 where
    either end is void or crowd), so label flips in ignored regions train
    nothing.
    """
    return _WeightGradient.apply(tensor, weights.detach().to(tensor))
