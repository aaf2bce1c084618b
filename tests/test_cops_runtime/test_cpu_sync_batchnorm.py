"""CPUSyncBatchNorm: N gloo processes at batch B == BatchNorm at batch N*B."""
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from torch import nn

from projects.cops_runtime import CPUSyncBatchNorm, setup_cpu_distributed
from projects.cops_runtime.utils.cpu_distributed import replace_norm_type

WORLD_SIZE, BATCH, CHANNELS = 2, 3, 4


def batch_and_grad():
    """The full batch ``[WORLD_SIZE * BATCH, C, 5, 6]`` and an upstream
    gradient of the same shape."""
    generator = torch.Generator().manual_seed(0)
    shape = (WORLD_SIZE * BATCH, CHANNELS, 5, 6)
    inputs = torch.randn(shape, generator=generator) * 3 + 1
    return inputs, torch.randn(shape, generator=generator)


def init_weight(layer):
    with torch.no_grad():
        layer.weight.copy_(torch.linspace(0.5, 1.5, CHANNELS))
        layer.bias.copy_(torch.linspace(-1, 1, CHANNELS))


def sync_bn_rank(rank, init_file, results):
    dist.init_process_group(
        'gloo',
        init_method=f'file://{init_file}',
        rank=rank,
        world_size=WORLD_SIZE)
    inputs, grad = batch_and_grad()
    part = slice(rank * BATCH, (rank + 1) * BATCH)
    layer = CPUSyncBatchNorm(CHANNELS)
    init_weight(layer)
    local = inputs[part].clone().requires_grad_()
    output = layer(local)
    output.backward(grad[part])
    results[rank] = dict(
        output=output.detach(),
        input_grad=local.grad,
        weight_grad=layer.weight.grad,
        running_mean=layer.running_mean,
        running_var=layer.running_var)
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_normalise_like_one_batch(tmp_path):
    results = mp.Manager().dict()
    mp.start_processes(
        sync_bn_rank,
        args=(str(tmp_path / 'init'), results),
        nprocs=WORLD_SIZE,
        start_method='fork')
    inputs, grad = batch_and_grad()
    reference = nn.BatchNorm2d(CHANNELS)
    init_weight(reference)
    full = inputs.clone().requires_grad_()
    output = reference(full)
    output.backward(grad)
    for rank in range(WORLD_SIZE):
        part = slice(rank * BATCH, (rank + 1) * BATCH)
        result = results[rank]
        torch.testing.assert_close(result['output'], output[part].detach())
        torch.testing.assert_close(result['input_grad'], full.grad[part])
        torch.testing.assert_close(result['running_mean'],
                                   reference.running_mean)
        torch.testing.assert_close(result['running_var'],
                                   reference.running_var)
    # each rank back-propagates its share of the batch's upstream gradient:
    # the shares' parameter gradients add up to the batch's
    torch.testing.assert_close(
        sum(results[rank]['weight_grad'] for rank in range(WORLD_SIZE)),
        reference.weight.grad)


def test_single_process_and_eval_are_batchnorm():
    inputs, _ = batch_and_grad()
    layer, reference = CPUSyncBatchNorm(CHANNELS), nn.BatchNorm2d(CHANNELS)
    torch.testing.assert_close(layer(inputs), reference(inputs))
    layer.eval()
    reference.eval()
    torch.testing.assert_close(layer(inputs), reference(inputs))
    with pytest.raises(ValueError, match=r'\[B, C, \*\] input.*\(4,\)'):
        layer(torch.ones(CHANNELS))


def test_config_sync_bn_becomes_cpu_sync_bn():
    norm_cfg = dict(type='SyncBN', requires_grad=True)
    model = dict(
        type='COPS',
        backbone=dict(norm_cfg=dict(norm_cfg)),
        heads=[dict(norm_cfg=dict(norm_cfg)),
               dict(norm_cfg=dict(type='GN'))])
    assert replace_norm_type(model, 'SyncBN', 'CPUSyncBN') == 2
    assert model['backbone']['norm_cfg'] == dict(
        type='CPUSyncBN', requires_grad=True)
    assert model['heads'][1]['norm_cfg']['type'] == 'GN'


def test_mmengine_sync_bn_option_is_refused_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='pytorch', sync_bn='torch', model=dict()))
    with pytest.raises(ValueError, match="sync_bn='torch'.*SyncBN"):
        setup_cpu_distributed(cfg)
