# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark the AMWC / MWC solver op against a reference solver.

Reads a folder of .npz instances (``node_costs`` [N, L], ``edges`` [E, 2],
``edge_costs`` [E], ``partitionable`` [L]) or writes them with an instance
generator script (``GENERATOR OUT_DIR``), then logs markdown tables:

1. per instance and problem (AMWC, MWC): median wall and CPU seconds with one
   thread and with the default thread count, the objective, and the ratio of
   the reference's CPU seconds to ours (one thread), with the objective
   difference. The reference is measured in the same run when
   ``--reference-binary`` is given (``--reference-runs`` processes per
   instance, right before ours), else read from the figures table of
   ``--reference-table`` (default: ``docs/solver.md``).
2. the backward's solves (one thread): K perturbed MWC problems, cold and
   warm-started from the forward AMWC solution (nodes whose margin over
   their cheapest label the perturbation raised marked -1), against the
   forward AMWC solve, and the baseline MWC solve that ``baseline='mwc'``
   adds.
3. the batched call on copies of one instance with 1 and all threads.

A reference binary is called as ``BINARY FILE REPEATS``; FILE holds int64
N, L, E, then float64 node_costs, int64 edges, float64 edge_costs and uint8
partitionable, raw and little-endian; it prints the lines
``AMWC wall <s> cpu <s> objective <value>`` and ``MWC ...`` with medians.

Example::

    python tools/analysis_tools/benchmark_amwc.py --instances DIR --repeats 5
"""
import argparse
import glob
import os
import os.path as osp
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from mmengine.logging import MMLogger

from mmcv_ops import solve_amwc, solve_amwc_batch, solve_mwc, solve_mwc_batch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--instances', help='folder of .npz instances')
    source.add_argument(
        '--generator',
        help='instance generator script, called as GENERATOR OUT_DIR')
    parser.add_argument(
        '--reference-binary',
        help='reference solver binary, measured in the same run')
    parser.add_argument(
        '--reference-runs',
        type=int,
        default=3,
        help='reference processes per instance, each measured right before '
        'ours (median)')
    parser.add_argument(
        '--reference-table',
        default=osp.join(ROOT, 'docs', 'solver.md'),
        help='markdown file with the reference figures table (used without '
        '--reference-binary)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='solves per instance and setting (median)')
    parser.add_argument(
        '--samples', type=int, default=5, help='perturbed solves (K)')
    parser.add_argument(
        '--strength',
        type=float,
        default=0.5,
        help='perturbation strength of the backward figures')
    parser.add_argument(
        '--batch-instance',
        default='b_128x256_L19',
        help='instance copied for the batched timing')
    parser.add_argument('--batch-copies', type=int, default=4)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='default thread count (default: all available cores)')
    return parser.parse_args()


def read_reference_table(path):
    """{instance: (amwc_s, amwc_obj, mwc_s, mwc_obj)} from the markdown rows
    ``| name | nodes | edges | labels | AMWC s | AMWC obj | MWC s | MWC obj
    |``; empty when the file does not exist."""
    if not osp.isfile(path):
        return {}
    reference = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if len(cells) == 8 and re.fullmatch(r'[a-z]_\w+', cells[0]):
                try:
                    reference[cells[0]] = tuple(
                        float(c.replace(',', '')) for c in cells[4:])
                except ValueError:
                    continue
    return reference


def run_reference(binary, inst, repeats, runs, workdir):
    """(amwc_cpu_s, amwc_obj, mwc_cpu_s, mwc_obj) of the reference binary:
    the median over ``runs`` processes of their median seconds. The
    reference's time varies from process to process by up to a quarter on
    a quiet machine (0.029-0.049 s on a_64x128_L19), more than within one."""
    path = osp.join(workdir, 'instance.bin')
    node_costs = np.ascontiguousarray(inst['node_costs'], '<f8')
    with open(path, 'wb') as f:
        np.array([*node_costs.shape, len(inst['edges'])], '<i8').tofile(f)
        node_costs.tofile(f)
        np.ascontiguousarray(inst['edges'], '<i8').tofile(f)
        np.ascontiguousarray(inst['edge_costs'], '<f8').tofile(f)
        np.ascontiguousarray(inst['partitionable'], np.uint8).tofile(f)
    seconds = {'AMWC': [], 'MWC': []}
    objectives = {}
    for _ in range(runs):
        out = subprocess.run([binary, path, str(repeats)],
                             check=True,
                             capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            words = line.split()
            if len(words) == 7 and words[0] in seconds:
                seconds[words[0]].append(float(words[4]))
                objectives[words[0]] = float(words[6])
        if set(objectives) != set(seconds):
            raise RuntimeError(
                f'{binary} printed no AMWC and MWC lines:\n{out}')
    return tuple(value for problem in ('AMWC', 'MWC')
                 for value in (statistics.median(seconds[problem]),
                               objectives[problem]))


def load_instances(args, workdir):
    folder = args.instances
    if folder is None:
        folder = workdir
        subprocess.run([sys.executable, args.generator, folder],
                       check=True,
                       stdout=subprocess.DEVNULL)
    paths = sorted(glob.glob(osp.join(folder, '*.npz')))
    if not paths:
        raise FileNotFoundError(f'no .npz instances in {folder}')
    return {osp.splitext(osp.basename(p))[0]: dict(np.load(p)) for p in paths}


def timed(solve, repeats):
    """(median wall seconds, median CPU seconds of this process summed over
    its threads, last result) of ``repeats`` calls. On a shared machine the
    CPU time is the steadier figure; with one thread it bounds the wall time
    on an idle core."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = solve()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def perturbations(inst, samples, strength, seed=0):
    """K perturbed node costs as the backward makes them: ``costs + lam_k *
    direction`` with a direction of +-1 on one label over three square
    blobs (mask-like gradients) and lam_k = strength * (1 + k / K)."""
    rng = np.random.default_rng(seed)
    node_costs = inst['node_costs'].astype(np.float64)
    num_nodes, num_labels = node_costs.shape
    direction = np.zeros_like(node_costs)
    side = max(1, int(np.sqrt(num_nodes) / 8))
    for _ in range(3):
        first = rng.integers(0, num_nodes)
        blob = (first + np.add.outer(
            np.arange(side) * int(np.sqrt(num_nodes)), np.arange(side))).ravel()
        direction[blob % num_nodes,
                  rng.integers(0, num_labels)] = rng.choice([-1.0, 1.0])
    return [
        node_costs + strength * (1 + k / samples) * direction
        for k in range(samples)
    ]


def marked_labels(labels, costs, perturbed):
    """``labels`` with -1 where the perturbation pushes a node away from its
    label: its margin over its cheapest label grew (the first test of the
    stage-2 layer's rule, ``amwc_function._warm_start_labels``)."""
    margin = costs[np.arange(len(labels)), labels] - costs.min(1)
    moved = perturbed[np.arange(len(labels)), labels] - perturbed.min(1)
    return np.where(moved > margin, -1, labels)


def main():
    args = parse_args()
    logger = MMLogger.get_instance('benchmark_amwc', log_level='INFO')
    threads = args.threads or len(os.sched_getaffinity(0))
    table = {} if args.reference_binary else read_reference_table(
        args.reference_table)
    source = ('same run' if args.reference_binary else
              f'figures of {args.reference_table}')
    logger.info(f'reference: {source}; default threads: {threads}')
    logger.info('| instance | nodes | edges | labels | problem | 1 thread '
                'wall s | 1 thread CPU s | default wall s | default CPU s | '
                'objective | ref CPU s | ref / ours (CPU, 1 thread) | '
                'obj - ref |')
    logger.info('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    with tempfile.TemporaryDirectory() as workdir:
        instances = load_instances(args, workdir)
        for name, inst in instances.items():
            # measured right before ours: the machine's state drifts
            ref = run_reference(args.reference_binary, inst, args.repeats,
                                args.reference_runs, workdir
                                ) if args.reference_binary else table.get(name)
            args_mwc = (inst['node_costs'], inst['edges'], inst['edge_costs'])
            problems = (
                ('AMWC', lambda n: solve_amwc(
                    *args_mwc, inst['partitionable'], num_threads=n)),
                ('MWC', lambda n: solve_mwc(*args_mwc, num_threads=n)),
            )
            for k, (problem, solve) in enumerate(problems):
                wall1, cpu1, result = timed(lambda: solve(1), args.repeats)
                wall, cpu, _ = timed(lambda: solve(threads), args.repeats)
                ref_cells = '| - | - | - |'
                if ref is not None:
                    ref_s, ref_obj = ref[2 * k], ref[2 * k + 1]
                    ref_cells = (f'| {ref_s:.4f} | '
                                 f'{ref_s / max(cpu1, 1e-9):.1f}x | '
                                 f'{result.objective - ref_obj:+.3f} |')
                num_nodes, num_labels = inst['node_costs'].shape
                logger.info(f'| {name} | {num_nodes} | {len(inst["edges"])} '
                            f'| {num_labels} | {problem} | {wall1:.4f} | '
                            f'{cpu1:.4f} | {wall:.4f} | {cpu:.4f} | '
                            f'{result.objective:.3f} {ref_cells}')

    logger.info(f'backward: {args.samples} perturbed MWC (strength '
                f'{args.strength}) after the forward AMWC, cold and '
                'warm-started from the forward solution; one thread, CPU s '
                "(the layer's baseline='mwc' adds one more MWC solve)")
    logger.info('| instance | forward AMWC | baseline MWC | perturbed cold | '
                'perturbed warm | (forward + backward) / forward, cold | '
                'warm | max (warm - cold) / abs(cold) | nodes marked |')
    logger.info('|---|---|---|---|---|---|---|---|---|')
    for name, inst in instances.items():
        edges, edge_costs = inst['edges'], inst['edge_costs']
        costs = perturbations(inst, args.samples, args.strength)
        _, forward, solution = timed(
            lambda: solve_amwc(
                inst['node_costs'],
                edges,
                edge_costs,
                inst['partitionable'],
                num_threads=1), args.repeats)
        _, baseline_s, _ = timed(
            lambda: solve_mwc(
                inst['node_costs'], edges, edge_costs, num_threads=1),
            args.repeats)
        initial = [
            marked_labels(solution.labels.numpy(), inst['node_costs'],
                          perturbed) for perturbed in costs
        ]
        marked = np.mean([(labels < 0).mean() for labels in initial])
        batch = dict(edges=edges, edge_costs=[edge_costs] * len(costs))
        _, cold_s, cold = timed(
            lambda: solve_mwc_batch(costs, **batch, num_threads=1),
            args.repeats)
        _, warm_s, warm = timed(
            lambda: solve_mwc_batch(
                costs, **batch, num_threads=1, initial_labels=initial),
            args.repeats)
        gap = max((w.objective - c.objective) / abs(c.objective)
                  for w, c in zip(warm, cold))
        logger.info(f'| {name} | {forward:.4f} | {baseline_s:.4f} | '
                    f'{cold_s:.4f} | {warm_s:.4f} | '
                    f'{(forward + cold_s) / forward:.2f} | '
                    f'{(forward + warm_s) / forward:.2f} | '
                    f'{gap:+.1e} | {marked:.2%} |')

    if args.batch_instance in instances and args.batch_copies > 0:
        inst = instances[args.batch_instance]
        copies = args.batch_copies

        def batch(num_threads):
            return solve_amwc_batch(
                [inst['node_costs']] * copies,
                inst['edges'], [inst['edge_costs']] * copies,
                inst['partitionable'],
                num_threads=num_threads)

        serial, _, _ = timed(lambda: batch(1), args.repeats)
        parallel, _, results = timed(lambda: batch(threads), args.repeats)
        logger.info(
            f'batch of {copies} x {args.batch_instance}: 1 thread '
            f'{serial:.3f} s, {threads} threads {parallel:.3f} s, '
            f'speed-up {serial / parallel:.2f}x; identical objectives: '
            f'{len({r.objective for r in results}) == 1}')
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    logger.info(f'peak resident memory of this process: {peak_mb:.0f} MB')


if __name__ == '__main__':
    main()
