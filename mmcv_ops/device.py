# Copyright (c) OpenMMLab. All rights reserved.
"""Moving solver inputs to the host and solutions back, once per batch.

The AMWC / MWC solver runs on CPU threads (the paper's solver is a CPU
algorithm, and so is this project's). With the network on a GPU its costs
must reach the host first: a ``.cpu()`` per tensor would wait for the GPU
once per tensor, so :func:`to_host` starts every device-to-host copy of a
batch asynchronously into pinned (page-locked) memory and waits once at the
end. :func:`on_input_device` wraps a batch solver so that it takes tensors on
any device and returns its solutions on the device of the first node costs.
"""
import functools
from typing import Any, Callable, List, NamedTuple, Optional

import torch
from torch import Tensor


def to_host(values: Any) -> Any:
    """Copy every tensor in ``values`` to the CPU, with one wait per device.

    Args:
        values: A tensor, array or ``None``, or lists / tuples / dicts of
            them (nested). CPU tensors and numpy arrays pass unchanged.

    Returns:
        The same structure with CPU tensors (detached). CUDA tensors are
        copied with ``non_blocking=True`` into pinned memory; the function
        returns after each CUDA stream involved has finished its copies, so
        the results can be read at once. A tensor that occurs several times
        (the backward's edge costs, one per perturbed copy) is copied once
        and every occurrence gets that copy, which the solver then converts
        and checks once.
    """
    streams = {}
    copies = {}  # id(tensor) -> its host tensor; values keeps ids alive

    def copy_tensor(value):
        if value.device.type == 'cpu':
            return value.detach()
        if value.device.type != 'cuda':
            return value.detach().cpu()
        host = torch.empty(value.shape, dtype=value.dtype, pin_memory=True)
        host.copy_(value.detach(), non_blocking=True)
        streams[value.device] = torch.cuda.current_stream(value.device)
        return host

    def copy(value):
        if isinstance(value, Tensor):
            if id(value) not in copies:
                copies[id(value)] = copy_tensor(value)
            return copies[id(value)]
        if isinstance(value, (list, tuple)):
            copied = [copy(item) for item in value]
            if hasattr(value, '_fields'):  # NamedTuple
                return type(value)(*copied)
            return type(value)(copied)
        if isinstance(value, dict):
            return {key: copy(item) for key, item in value.items()}
        return value

    copied = copy(values)
    for stream in streams.values():
        stream.synchronize()
    return copied


def to_device(values: Any, device: Optional[torch.device]) -> Any:
    """Move every tensor in ``values`` (nested lists / tuples / dicts) to
    ``device``; ``None`` or a CPU device leaves them where they are."""
    if device is None or torch.device(device).type == 'cpu':
        return values
    if isinstance(values, Tensor):
        return values.to(device, non_blocking=True)
    if isinstance(values, (list, tuple)):
        moved = [to_device(item, device) for item in values]
        if hasattr(values, '_fields'):  # NamedTuple
            return type(values)(*moved)
        return type(values)(moved)
    if isinstance(values, dict):
        return {key: to_device(item, device) for key, item in values.items()}
    return values


def _first_device(values: Any) -> Optional[torch.device]:
    """Device of the first tensor in ``values`` (nested lists / tuples)."""
    if isinstance(values, Tensor):
        return values.device
    if isinstance(values, (list, tuple)):
        for item in values:
            device = _first_device(item)
            if device is not None:
                return device
    return None


def on_input_device(solve: Callable[..., List[NamedTuple]]) -> Callable:
    """Let a batch solver take its inputs on any device.

    The wrapped ``solve(node_costs, *args, **kwargs)`` gets every tensor
    argument copied to the host by one :func:`to_host` call and its list of
    results moved to the device of the first tensor of ``node_costs`` (CPU
    for numpy inputs), so that the caller's tensors stay where its model
    is. Results on a GPU are written with ``non_blocking=True`` copies on the
    current stream, ordered before any later work of that stream.
    """

    @functools.wraps(solve)
    def wrapper(node_costs, *args, **kwargs):
        device = _first_device(node_costs)
        node_costs, args, kwargs = to_host((node_costs, args, kwargs))
        return to_device(solve(node_costs, *args, **kwargs), device)

    return wrapper
