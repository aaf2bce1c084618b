# Copyright (c) OpenMMLab. All rights reserved.
"""What the perturbed solves of the stage-2 backward move, and how much the
K samples of one image agree, per range of the perturbation strength.

Runs stage-2 training steps (forward, PQ loss, backward; no optimizer step)
of a config from a checkpoint on the same ``--batches`` training batches
once with the config's ``lambda_range`` and once per decade
``[10^k, 10^(k+1))`` of ``--decades``, and records, for every image and
sample of the AMWC backward (cold solves), the baseline solution and the
perturbed one. Prints per range the fraction of pixels whose class and of
edges whose cut state a perturbation changed, and the mean over images of
the pairwise cosine between the K samples' node-cost gradients
``(y_lam - y) / lam`` (1: every sample says the same; 0: unrelated).

``--warm-start`` repeats every range with ``warm_start=True`` and prints
the fraction of pixels its solves mark to start alone, the CPU seconds of
the forward AMWC solves, of the backward's solves cold and warm and of
choosing the marked pixels, and the cosine between the warm and the cold
layer gradients (w.r.t. node and edge costs). ``--instance`` takes the costs and ground truth of one
instance of the shared instance generator (``.npz``: ``node_costs``
[N, L], ``edge_costs`` [E], ``edge_dist`` [E], ``partitionable`` [L],
``gt_sem`` and ``gt_seg`` [H, W], ``shape``) instead of a model's, with the
config's ``amwc_layer`` and ``loss_pq`` (no checkpoint): a stage-2 layer
call at the instance's size. ``--random-gradients`` replaces the PQ loss by
a random linear function of the segment overlaps (every segment pushed or
pulled in every region: dense, unlike the loss's).

Example::

    python tools/analysis_tools/stage2_gradient_stats.py \
        configs/cops_r18_synthetic.py CKPT --batches 2 --decades 0 1 2 3 4
    python tools/analysis_tools/stage2_gradient_stats.py \
        configs/cops_r50_cityscapes.py --instance b_128x256_L19.npz \
        --decades --warm-start
"""
import argparse
import itertools
import time
from typing import Callable, NamedTuple
from unittest import mock

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from mmdet.registry import MODELS

import projects.cops  # noqa: F401  (registers the COPS modules)
from mmcv_ops import edge_values_to_grid_maps
from projects.cops.models.layers import amwc_function
from projects.cops_runtime.utils import (merge_cfg_options,
                                         register_checkpoint_safe_globals)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='stage-2 config')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint to start from (not with --instance)')
    parser.add_argument(
        '--batches', type=int, default=4, help='training batches to run')
    parser.add_argument(
        '--decades',
        type=int,
        nargs='*',
        default=[0, 1, 2, 3, 4],
        help='k of the lambda ranges [10^k, 10^(k+1)) to run')
    parser.add_argument(
        '--instance', help='.npz instance instead of the model\'s costs')
    parser.add_argument(
        '--random-gradients',
        action='store_true',
        help='random incoming segment gradients instead of the PQ loss\'s')
    parser.add_argument(
        '--warm-start',
        action='store_true',
        help='also the warm-started backward: marked pixels, solver CPU '
        'seconds and gradient cosine against the cold one')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides')
    args = parser.parse_args()
    if (args.checkpoint is None) == (args.instance is None):
        parser.error('give a checkpoint or --instance, not both')
    return args


def build(cfg, checkpoint, num_batches):
    """The model in training mode and ``num_batches`` training batches."""
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.train()
    # seeded sampler: the same batches in every run of the tool
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    return model, list(itertools.islice(loader, num_batches))


def model_step(model, batches, random_gradients):
    """``(layer, step)``: ``step()`` runs the stage-2 loss and backward of
    the model on the batches."""
    if random_gradients:
        model.loss_pq.forward = random_loss()

    def step():
        for batch in batches:
            data = model.data_preprocessor(batch, True)
            losses = model.loss(data['inputs'], data['data_samples'])
            losses['loss_pq'].backward()
            model.zero_grad()

    return model.amwc_layer, step


def instance_step(cfg, path, random_gradients):
    """``(layer, step)`` of one instance file (see the module docstring):
    thing labels first, the config's layer and loss at the instance's
    classes and edge distances, ground truth from ``gt_sem`` / ``gt_seg``."""
    init_default_scope('mmdet')
    inst = np.load(path)
    height, width = (int(size) for size in inst['shape'])
    thing = torch.from_numpy(inst['partitionable'])
    order = torch.cat([torch.nonzero(thing), torch.nonzero(~thing)])[:, 0]
    classes = dict(
        num_things_classes=int(thing.sum()),
        num_stuff_classes=int((~thing).sum()))
    edge_distances = [int(d) for d in dict.fromkeys(inst['edge_dist'])]
    layer = MODELS.build(
        dict(cfg.model.amwc_layer, edge_distances=edge_distances, **classes))
    loss = MODELS.build(dict(cfg.model.loss_pq, **classes))
    if random_gradients:
        loss.forward = random_loss()
    node_costs = torch.from_numpy(inst['node_costs'])[:, order].t().reshape(
        1, -1, height, width).float()
    edge_costs = edge_values_to_grid_maps(
        torch.from_numpy(inst['edge_costs'])[None].float(), height, width,
        edge_distances)
    # ground-truth regions: one per segment id, of its (reordered) class
    regions = torch.unique(
        torch.from_numpy(inst['gt_seg']).long(),
        return_inverse=True)[1][None]
    new_class = torch.argsort(order)
    gt_sem = new_class[torch.from_numpy(inst['gt_sem']).long()]
    gt_classes = torch.zeros(int(regions.max()) + 1, dtype=torch.long)
    gt_classes[regions.flatten()] = gt_sem.flatten()
    gt_areas = torch.bincount(regions.flatten()).float()[None]

    def step():
        segments = layer(node_costs.requires_grad_(),
                         edge_costs.requires_grad_(), regions,
                         torch.ones(1, height, width))
        loss(segments, gt_classes[None], gt_areas).backward()
        node_costs.grad = edge_costs.grad = None

    return layer, step


def random_loss():
    """A loss whose gradient w.r.t. every segment overlap is standard
    normal, the same on every call of one step (seeded per call)."""

    def forward(segments, *targets):
        generator = torch.Generator().manual_seed(7)
        return (segments.overlaps * torch.randn(
            segments.overlaps.shape, generator=generator).to(
                segments.overlaps)).sum()

    return forward


class Record(NamedTuple):
    """What one backward pass over the steps did.

    Attributes:
        samples (list[tuple]): per image ``(baseline classes [N], sample
            classes [K, N], baseline cut [E], sample cuts [K, E], lambdas
            [K])``.
        gradients (Tensor): the layer's cost gradients of all images,
            flattened (float64).
        forward_s (float): CPU seconds of the forward AMWC solves.
        backward_s (float): CPU seconds of the backward's MWC solves.
        marking_s (float): CPU seconds of choosing the pixels that start
            alone (warm start).
        marked (list[float]): per warm-started solve, the fraction of
            pixels that start alone (-1).
    """
    samples: list
    gradients: torch.Tensor
    forward_s: float
    backward_s: float
    marking_s: float
    marked: list


def record_backward(step: Callable[[], None]) -> Record:
    """Runs ``step`` and records the AMWC layer's solves (see
    :class:`Record`)."""
    samples, gradients, marked = [], [], []
    seconds = dict(forward=0., backward=0., marking=0.)

    def timed(function, key):

        def call(*args, **kwargs):
            start = time.process_time()
            result = function(*args, **kwargs)
            seconds[key] += time.process_time() - start
            return result

        return call

    finite_differences = amwc_function._finite_differences

    def recording(baseline, sample_classes, sample_cuts, lambdas,
                  num_classes):
        samples.append((baseline[0], sample_classes, baseline[1].bool(),
                        sample_cuts.bool(), lambdas))
        result = finite_differences(baseline, sample_classes, sample_cuts,
                                    lambdas, num_classes)
        gradients.extend(grad.flatten() for grad in result)
        return result

    warm_start_labels = amwc_function._warm_start_labels

    def marking(*args):
        starts = warm_start_labels(*args)
        marked.extend((labels < 0).double().mean().item() for labels in starts)
        return starts

    torch.manual_seed(0)  # the same cost dropout and lambdas every time
    with mock.patch.object(amwc_function, '_finite_differences', recording), \
            mock.patch.object(amwc_function, '_warm_start_labels',
                              timed(marking, 'marking')), \
            mock.patch.object(amwc_function, 'solve_grid_amwc',
                              timed(amwc_function.solve_grid_amwc,
                                    'forward')), \
            mock.patch.object(amwc_function, 'solve_mwc_batch',
                              timed(amwc_function.solve_mwc_batch,
                                    'backward')):
        step()
    return Record(samples,
                  torch.cat(gradients) if gradients else torch.zeros(0),
                  seconds['forward'], seconds['backward'], seconds['marking'],
                  marked)


def statistics(records, num_classes):
    """Mean moved-pixel and moved-edge fractions (percent) over the solves,
    mean pairwise node-gradient cosine over the images."""
    pixels, edges, cosines = [], [], []
    for classes, samples, cut, sample_cuts, lambdas in records:
        grads = []
        for sample, sample_cut, lam in zip(samples, sample_cuts, lambdas):
            pixels.append((sample != classes).double().mean().item())
            edges.append((sample_cut != cut).double().mean().item())
            grads.append(node_gradient(classes, sample, lam, num_classes))
        pairs = [
            torch.nn.functional.cosine_similarity(a, b, dim=0).item()
            for a, b in itertools.combinations(grads, 2)
            if a.any() and b.any()
        ]
        if pairs:
            cosines.append(sum(pairs) / len(pairs))
    return (100 * sum(pixels) / len(pixels), 100 * sum(edges) / len(edges),
            sum(cosines) / len(cosines) if cosines else float('nan'),
            len(records))


def node_gradient(baseline, sample, lam, num_classes):
    """``(onehot(sample) - onehot(baseline)) / lam``, flattened."""
    grad = torch.zeros(len(baseline), num_classes, dtype=torch.float64)
    pixels = torch.arange(len(baseline))
    grad[pixels, sample] += 1 / lam
    grad[pixels, baseline] -= 1 / lam
    return grad.flatten()


def warm_start_row(name, cold, warm):
    """A row of the warm-start table."""
    if warm.marked:
        marked = (f'{100 * np.mean(warm.marked):>9.2f}'
                  f'{100 * np.max(warm.marked):>9.2f}')
    else:
        marked = f'{"-":>9}{"-":>9}'
    cosine = torch.nn.functional.cosine_similarity(
        cold.gradients, warm.gradients,
        dim=0).item() if cold.gradients.any() else float('nan')
    return (f'{name:>18}{marked}{cold.forward_s:>11.3f}'
            f'{cold.backward_s:>11.3f}{warm.backward_s:>11.3f}'
            f'{warm.marking_s:>11.3f}'
            f'{cosine:>10.4f}')


def main():
    args = parse_args()
    register_checkpoint_safe_globals()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        merge_cfg_options(cfg, args.cfg_options)
    if args.instance:
        layer, step = instance_step(cfg, args.instance, args.random_gradients)
    else:
        model, batches = build(cfg, args.checkpoint, args.batches)
        layer, step = model_step(model, batches, args.random_gradients)
    settings = layer.settings
    ranges = [('config', settings.lambda_range)] + [
        (f'[1e{k}, 1e{k + 1})', (10.**k, 10.**(k + 1))) for k in args.decades
    ]
    print(f'{"lambda":>18}{"images":>8}{"pixels moved %":>16}'
          f'{"edges moved %":>16}{"cosine":>10}')
    rows = []
    for name, lambda_range in ranges:
        layer.settings = settings._replace(
            lambda_range=lambda_range, warm_start=False)
        cold = record_backward(step)
        if args.warm_start:
            layer.settings = layer.settings._replace(warm_start=True)
            rows.append(warm_start_row(name, cold, record_backward(step)))
        if not cold.samples:
            print(f'{name:>18}{0:>8}  (zero PQ-loss gradient in every image)')
            continue
        pixels, edges, cosine, images = statistics(cold.samples,
                                                   layer.num_classes)
        print(f'{name:>18}{images:>8}{pixels:>16.3f}{edges:>16.3f}'
              f'{cosine:>10.3f}')
    if rows:
        print('warm start: pixels marked (% mean, max over the solves), '
              'CPU s (forward AMWC solves, backward solves cold and warm, '
              'choosing the marked pixels), cosine between the warm and '
              'cold cost gradients')
        print(f'{"lambda":>18}{"mean %":>9}{"max %":>9}{"forward":>11}'
              f'{"cold":>11}{"warm":>11}{"marking":>11}{"cosine":>10}')
        print('\n'.join(rows))


if __name__ == '__main__':
    main()
