# Copyright (c) OpenMMLab. All rights reserved.
"""What the perturbed solves of the stage-2 backward move, and how much the
K samples of one image agree, per range of the perturbation strength.

Runs stage-2 training steps (forward, PQ loss, backward; no optimizer step)
of a config from a checkpoint on the same ``--batches`` training batches
once with the config's ``lambda_range`` and once per decade
``[10^k, 10^(k+1))`` of ``--decades``, and records, for every image and
sample of the AMWC backward, the baseline solution and the perturbed one.
Prints per range the fraction of pixels whose class and of edges whose cut
state a perturbation changed, and the mean over images of the pairwise
cosine between the K samples' node-cost gradients ``(y_lam - y) / lam``
(1: every sample says the same; 0: unrelated).

Example::

    python tools/analysis_tools/stage2_gradient_stats.py \
        configs/cops_r18_synthetic.py CKPT --batches 2 --decades 0 1 2 3 4
"""
import argparse
import itertools
from unittest import mock

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from mmdet.registry import MODELS

import projects.cops  # noqa: F401  (registers the COPS modules)
from projects.cops.models.layers import amwc_function
from projects.cops_runtime.utils import (merge_cfg_options,
                                         register_checkpoint_safe_globals)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='stage-2 config')
    parser.add_argument('checkpoint', help='checkpoint to start from')
    parser.add_argument(
        '--batches', type=int, default=4, help='training batches to run')
    parser.add_argument(
        '--decades',
        type=int,
        nargs='*',
        default=[0, 1, 2, 3, 4],
        help='k of the lambda ranges [10^k, 10^(k+1)) to run')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides')
    return parser.parse_args()


def build(cfg, checkpoint, num_batches):
    """The model in training mode and ``num_batches`` training batches."""
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.train()
    loader = Runner.build_dataloader(cfg.train_dataloader)
    return model, list(itertools.islice(loader, num_batches))


def record_backward(model, batches):
    """``(baseline classes [N], sample classes [K, N], baseline cut [E],
    sample cuts [K, E], lambdas [K])`` of every image's backward."""
    records = []
    finite_differences = amwc_function._finite_differences

    def recording(baseline, sample_classes, sample_cuts, lambdas,
                  num_classes):
        records.append((baseline[0], sample_classes, baseline[1].bool(),
                        sample_cuts.bool(), lambdas))
        return finite_differences(baseline, sample_classes, sample_cuts,
                                  lambdas, num_classes)

    torch.manual_seed(0)  # the same cost dropout for every lambda range
    with mock.patch.object(amwc_function, '_finite_differences', recording):
        for batch in batches:
            data = model.data_preprocessor(batch, True)
            losses = model.loss(data['inputs'], data['data_samples'])
            losses['loss_pq'].backward()
            model.zero_grad()
    return records


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


def main():
    args = parse_args()
    register_checkpoint_safe_globals()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        merge_cfg_options(cfg, args.cfg_options)
    model, batches = build(cfg, args.checkpoint, args.batches)
    settings = model.amwc_layer.settings
    num_classes = model.amwc_layer.num_classes
    ranges = [('config', settings.lambda_range)] + [
        (f'[1e{k}, 1e{k + 1})', (10.**k, 10.**(k + 1))) for k in args.decades
    ]
    print(f'{"lambda":>18}{"images":>8}{"pixels moved %":>16}'
          f'{"edges moved %":>16}{"cosine":>10}')
    for name, lambda_range in ranges:
        model.amwc_layer.settings = settings._replace(
            lambda_range=lambda_range)
        records = record_backward(model, batches)
        if not records:
            print(f'{name:>18}{0:>8}  (zero PQ-loss gradient in every image)')
            continue
        pixels, edges, cosine, images = statistics(records, num_classes)
        print(f'{name:>18}{images:>8}{pixels:>16.3f}{edges:>16.3f}'
              f'{cosine:>10.3f}')


if __name__ == '__main__':
    main()
