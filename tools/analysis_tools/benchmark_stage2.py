# Copyright (c) OpenMMLab. All rights reserved.
"""Time one stage-2 (end-to-end) training iteration of COPS, part by part.

Builds the model of an end-to-end config (``COPSEndToEnd``), takes batches of
its train dataloader (or random images with ``--random-input``) and times,
per iteration, the parts of ``COPSEndToEnd.loss`` plus its backward:

- ``net forward``: backbone, heads and cost head,
- ``AMWC forward``: the solver call of the AMWC layer (masks),
- ``matching + loss``: ground-truth matching and the PQ surrogate loss,
  forward and backward down to ``dL/d(masks)``,
- ``MWC backward``: the perturbed multiway-cut samples of the layer's
  backward (``dL/d(costs)``),
- ``net backward``: from the costs back into the network.

It logs the median over the timed iterations (after ``--warmup`` ones).

Example::

    python tools/analysis_tools/benchmark_stage2.py \
        configs/cops_r18_synthetic.py --checkpoint CHECKPOINT
"""
import argparse
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
from projects.cops.models.utils.panoptic_matching import panoptic_segments
from projects.cops_runtime import register_checkpoint_safe_globals


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='end-to-end (stage-2) config')
    parser.add_argument('--checkpoint', help='weights to load (optional)')
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
        masks, classes, valid = model.amwc_layer(node_costs, edge_costs)
    with timed(times, 'matching + loss'):
        pan_seg = model.stack_targets(samples,
                                      sem_logits.shape[-2:])['pan_seg']
        gt_masks, gt_classes = zip(*[
            panoptic_segments(image_pan_seg, model.ignore_index)
            for image_pan_seg in pan_seg
        ])
        weights = (pan_seg != model.ignore_index).to(masks.dtype)
        loss = model.loss_pq(masks, classes, valid, gt_masks, gt_classes,
                             weights)
        grad_masks, = torch.autograd.grad(loss, masks)
    with timed(times, 'MWC backward'):
        grad_costs = torch.autograd.grad(masks, (node_costs, edge_costs),
                                         grad_masks)
    with timed(times, 'net backward'):
        torch.autograd.backward((node_costs, edge_costs), grad_costs)
    model.zero_grad(set_to_none=True)
    return loss.item(), int(valid.sum()), masks.shape


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
    dataloader = Runner.build_dataloader(cfg.train_dataloader)
    batches = iter(dataloader)
    times = defaultdict(list)
    for step in range(args.warmup + args.iters):
        data = model.data_preprocessor(next(batches), True)
        if args.random_input:
            data['inputs'] = torch.randn_like(data['inputs'])
        if step == args.warmup:
            times.clear()
        loss, num_masks, mask_shape = stage2_iteration(model, data, times)
        logger.info(f'iter {step}: loss_pq {loss:.4f}, {num_masks} masks, '
                    f'masks {tuple(mask_shape)}')
    total = sum(statistics.median(values) for values in times.values())
    logger.info(f'median seconds per iteration over {args.iters} '
                f'iterations (batch {cfg.train_dataloader.batch_size}, '
                f'{torch.get_num_threads()} torch threads):')
    for name, values in times.items():
        median = statistics.median(values)
        logger.info(f'  {name:<16} {median:8.4f} s  '
                    f'{100 * median / total:5.1f} %')
    logger.info(f'  {"total":<16} {total:8.4f} s')


if __name__ == '__main__':
    main()
