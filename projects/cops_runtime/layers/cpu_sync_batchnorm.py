"""Synchronised batch normalisation for CPU processes (gloo)."""
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from mmengine.registry import MODELS
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm


@MODELS.register_module('CPUSyncBN')
class CPUSyncBatchNorm(_BatchNorm):
    """Batch normalisation with statistics over all ranks, on CPU.

    torch's ``SyncBatchNorm`` raises for CPU inputs in distributed training
    (its statistics kernels exist only for GPUs, and DDP refuses it for CPU
    modules), so a config asking for ``SyncBN`` cannot train with
    ``tools/dist_train.sh`` on a machine without GPUs. In distributed
    training this layer computes the batch statistics over all ranks with
    two differentiable ``all_reduce`` sums of the default process group
    (mean first, then the centred second moment: the two-pass variance of
    ``BatchNorm``), so N processes at batch B normalise exactly like one
    process at batch N * B; gradients flow back through the reductions to
    every rank. Evaluation and single-process runs are plain ``BatchNorm``.
    ``setup_cpu_distributed`` substitutes it for ``SyncBN`` in configs.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(
                f'CPUSyncBatchNorm expects a [B, C, *] input, got shape '
                f'{tuple(input.shape)}')

    def forward(self, input: Tensor) -> Tensor:
        """Normalise ``input`` ``[B, C, *]`` over batch and spatial axes."""
        if (not self.training or not dist.is_available()
                or not dist.is_initialized() or dist.get_world_size() == 1):
            return super().forward(input)
        self._check_input_dim(input)
        axes = [0] + list(range(2, input.dim()))
        shape = [1, -1] + [1] * (input.dim() - 2)
        local_count = input.numel() // input.size(1)
        sums = torch.cat([
            input.sum(axes),
            input.new_tensor([local_count], dtype=input.dtype)
        ])
        sums = dist_fn.all_reduce(sums)
        count = sums[-1]
        mean = sums[:-1] / count
        centred = input - mean.view(shape)
        var = dist_fn.all_reduce(centred.square().sum(axes)) / count
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(),
                                       count.detach())
        output = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            output = output * self.weight.view(shape) + self.bias.view(shape)
        return output

    @torch.no_grad()
    def _update_running_stats(self, mean: Tensor, var: Tensor,
                              count: Tensor) -> None:
        """Exponential (or cumulative when ``momentum`` is None) average
        of the global mean and unbiased variance, as ``BatchNorm`` does."""
        self.num_batches_tracked.add_(1)
        momentum = self.momentum
        if momentum is None:
            momentum = 1.0 / self.num_batches_tracked.item()
        unbiased_var = var * count / (count - 1).clamp(min=1)
        self.running_mean.lerp_(mean, momentum)
        self.running_var.lerp_(unbiased_var, momentum)
