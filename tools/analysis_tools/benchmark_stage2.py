# Copyright (c) OpenMMLab. All rights reserved.
"""Time one COPS training iteration part by part, with the peak memory.

Builds the model of a config, takes batches of its train dataloader (or
random images with ``--random-input``) and times, per iteration, the parts
of ``COPSEndToEnd.loss`` plus its backward (stage-2 configs):

- ``net forward``: backbone, heads and cost head,
- ``AMWC forward``: the solver call of the AMWC layer (segments),
- ``matching + loss``: ground-truth matching and the PQ surrogate loss,
  forward and backward down to the segment statistics,
- ``backward solves``: the perturbed multiway cuts of the layer's backward
  (``dL/d(costs)``),
- ``net backward``: from the costs back into the network,

or, for a stage-1 (``COPS``) config, ``net forward + losses`` and
``net backward``. It prints the median over the timed iterations (after
``--warmup`` ones) as a table and the peak resident memory (RSS) of the
process, which includes the dataloader and model building.

Example::

    python tools/analysis_tools/benchmark_stage2.py \
        configs/cops_r50_coco.py --checkpoint CHECKPOINT --batch-size 2
"""
import argparse
import resource
import statistics
import time
from collections import defaultdict

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmengine.utils import import_modules_from_strings

from mmdet.registry import MODELS
from projects.cops.models.detectors import COPSEndToEnd
from projects.cops_runtime import register_checkpoint_safe_globals


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='end-to-end (stage-2) config')
    parser.add_argument('--checkpoint', help='weights to load (optional)')
    parser.add_argument(
        '--batch-size', type=int, help='images per iteration (default: the '
        'config\'s train_dataloader.batch_size)')
    parser.add_argument(
        '--iters', type=int, default=10, help='timed iterations')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed iterations first')
    parser.add_argument(
        '--random-input',
        action='store_true',
        help='random images instead of the train dataloader '
        '(timing only; the ground truth stays real)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def timed(times, name):
    """Context manager adding the wall time of its block to ``times``."""

    class Timer:

        def __enter__(self):
            self.start = time.perf_counter()

        def __exit__(self, *exc):
            times[name].append(time.perf_counter() - self.start)

    return Timer()


def stage2_iteration(model, data, times):
    """One forward/backward of ``COPSEndToEnd.loss``, timed part by part."""
    inputs, samples = data['inputs'], data['data_samples']
    with timed(times, 'net forward'):
        sem_logits, boundary_logits = model.forward_heads(inputs)
        node_costs, edge_costs = model.cost_head(sem_logits, boundary_logits)
    with timed(times, 'AMWC forward'):
        targets = model.stack_targets(samples, sem_logits.shape[-2:])
        segments, gt_classes, gt_areas = model.amwc_segments(
            node_costs, edge_costs, targets)
    statistics_ = (segments.overlaps, segments.weighted_areas,
                   segments.areas)
    with timed(times, 'matching + loss'):
        loss = model.loss_pq(segments, gt_classes, gt_areas)
        grads = torch.autograd.grad(loss, statistics_)
    with timed(times, 'backward solves'):
        grad_costs = torch.autograd.grad(statistics_,
                                         (node_costs, edge_costs), grads)
    with timed(times, 'net backward'):
        torch.autograd.backward((node_costs, edge_costs), grad_costs)
    model.zero_grad(set_to_none=True)
    return loss.item(), int(segments.valid.sum(1).max())


def stage1_iteration(model, data, times):
    """One forward/backward of ``COPS.loss`` (stage 1)."""
    with timed(times, 'net forward + losses'):
        losses = model.loss(data['inputs'], data['data_samples'])
        loss = sum(losses.values())
    with timed(times, 'net backward'):
        loss.backward()
    model.zero_grad(set_to_none=True)
    return loss.item(), 0


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    logger = MMLogger.get_instance('benchmark_stage2')
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        register_checkpoint_safe_globals()
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.train()
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    dataloader = Runner.build_dataloader(cfg.train_dataloader)
    batches = iter(dataloader)
    iteration = (
        stage2_iteration
        if isinstance(model, COPSEndToEnd) else stage1_iteration)
    times = defaultdict(list)
    for step in range(args.warmup + args.iters):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(dataloader)
            batch = next(batches)
        data = model.data_preprocessor(batch, True)
        if args.random_input:
            data['inputs'] = torch.randn_like(data['inputs'])
        if step == args.warmup:
            times.clear()
        loss, num_segments = iteration(model, data, times)
        logger.info(f'iter {step}: loss {loss:.4f}, input '
                    f'{tuple(data["inputs"].shape)}, at most {num_segments} '
                    'segments per image')
    total = sum(statistics.median(values) for values in times.values())
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rows = [f'median seconds per iteration over {args.iters} iterations '
            f'(batch {cfg.train_dataloader.batch_size}, '
            f'{torch.get_num_threads()} torch threads)', '',
            '| part | s | % |', '|---|---|---|']
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(f'| {name} | {median:.3f} | {100 * median / total:.1f} |')
    rows += [f'| total | {total:.3f} | 100 |', '',
             f'peak RSS: {peak_rss:.2f} GiB']
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
