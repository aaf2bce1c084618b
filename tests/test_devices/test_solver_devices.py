"""mmcv_ops solvers on tensors of any device: one host copy per call,
solutions on the input's device (mmcv_ops.device)."""
from typing import NamedTuple

import numpy as np
import pytest
import torch

from mmcv_ops import grid_graph, solve_amwc, solve_amwc_batch, solve_mwc_batch
from mmcv_ops.device import on_input_device, to_device, to_host


def grid_instance(seed, height=12, width=10, num_labels=4):
    generator = torch.Generator().manual_seed(seed)
    edges = grid_graph(height, width, (1, 3))
    node_costs = torch.randn(
        height * width, num_labels, generator=generator)
    edge_costs = torch.randn(len(edges), generator=generator) + 0.5
    return node_costs, edges, edge_costs


def test_amwc_batch_solutions_on_the_input_device(device):
    instances = [grid_instance(seed) for seed in range(3)]
    partitionable = torch.tensor([True, True, False, False])
    expected = solve_amwc_batch([i[0].numpy() for i in instances],
                                [i[1].numpy() for i in instances],
                                [i[2].numpy() for i in instances],
                                partitionable.numpy())
    results = solve_amwc_batch([i[0].to(device) for i in instances],
                               [i[1].to(device) for i in instances],
                               [i[2].to(device) for i in instances],
                               partitionable.to(device))
    for result, reference in zip(results, expected):
        for name in ('labels', 'clusters', 'cut'):
            value = getattr(result, name)
            assert value.device == device, name
            assert torch.equal(value.cpu(), getattr(reference, name)), name
        assert result.objective == reference.objective
    single = solve_amwc(*[v.to(device) for v in instances[0]],
                        partitionable.to(device))
    assert single.labels.device == device
    assert torch.equal(single.labels.cpu(), expected[0].labels)


def test_mwc_batch_takes_device_inputs_and_cpu_edges(device):
    node_costs, edges, edge_costs = grid_instance(4)
    expected = solve_mwc_batch([node_costs], edges, [edge_costs])[0]
    # the graph may stay on the host while the costs are on the device
    result = solve_mwc_batch([node_costs.to(device)], edges,
                             [edge_costs.to(device)])[0]
    assert result.labels.device == result.cut.device == device
    assert torch.equal(result.labels.cpu(), expected.labels)
    assert torch.equal(result.cut.cpu(), expected.cut)


def test_numpy_inputs_give_cpu_solutions():
    node_costs, edges, edge_costs = grid_instance(5)
    result = solve_mwc_batch([node_costs.numpy()], edges.numpy(),
                             [edge_costs.numpy()])[0]
    assert result.labels.device.type == 'cpu'


class Pair(NamedTuple):
    first: torch.Tensor
    second: object


def test_to_host_keeps_the_structure(device):
    leaf = torch.arange(6.).to(device).requires_grad_()
    values = [(leaf * 2, None), {'a': Pair(leaf, 3)}, np.ones(2)]
    host = to_host(values)
    assert isinstance(host, list) and isinstance(host[0], tuple)
    assert isinstance(host[1]['a'], Pair) and host[1]['a'].second == 3
    assert host[0][1] is None and host[2] is values[2]
    for tensor in (host[0][0], host[1]['a'].first):
        assert tensor.device.type == 'cpu' and not tensor.requires_grad
    assert torch.equal(host[0][0], torch.arange(6.) * 2)
    if device.type == 'cuda':
        assert host[0][0].is_pinned()
    back = to_device(host, device)
    assert back[1]['a'].first.device == device
    assert isinstance(back[1]['a'], Pair)


def test_to_device_without_a_device_changes_nothing():
    values = [torch.ones(2)]
    assert to_device(values, None) is values
    assert to_device(values, torch.device('cpu')) is values


def test_on_input_device_copies_every_argument_once():
    calls = []

    @on_input_device
    def solve(node_costs, edges, edge_costs, num_threads=None):
        calls.append((node_costs, edges, edge_costs, num_threads))
        return [Pair(costs.sum(0), None) for costs in node_costs]

    costs = [torch.ones(3, 2), torch.zeros(4, 2)]
    results = solve(costs, torch.zeros(0, 2), [torch.ones(0)], num_threads=2)
    assert calls[0][3] == 2
    assert [r.first.tolist() for r in results] == [[3., 3.], [0., 0.]]
    assert solve.__name__ == 'solve'


def test_to_host_waits_once_per_cuda_device(monkeypatch):
    """Without a GPU: the stream wait happens once, after all copies (the
    copies themselves are stubbed on CPU tensors posing as CUDA ones)."""
    events = []

    class FakeStream:

        def synchronize(self):
            events.append('wait')

    class FakeCudaTensor(torch.Tensor):
        """A CPU tensor reporting device cuda:0 to to_host."""

        @property
        def device(self):
            return torch.device('cuda', 0)

        def detach(self):
            events.append('copy')
            return torch.Tensor.detach(self).as_subclass(torch.Tensor)

    real_empty = torch.empty

    def empty(*shape, pin_memory=False, **kwargs):
        assert pin_memory
        return real_empty(*shape, **kwargs)

    monkeypatch.setattr(torch, 'empty', empty)
    monkeypatch.setattr(torch.cuda, 'current_stream',
                        lambda device: FakeStream())
    tensors = [
        torch.full((2, 3), float(i)).as_subclass(FakeCudaTensor)
        for i in range(3)
    ]
    host = to_host(tensors)
    assert events == ['copy', 'copy', 'copy', 'wait']
    assert [t[0, 0].item() for t in host] == [0., 1., 2.]
    # a tensor given several times is copied once, and shared
    events.clear()
    host = to_host([tensors[0], [tensors[1], tensors[0]]])
    assert events == ['copy', 'copy', 'wait']
    assert host[1][1] is host[0]
