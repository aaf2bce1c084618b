# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark the AMWC / MWC solver op against the reference figures.

Reads a folder of .npz instances (``node_costs``, ``edges``, ``edge_costs``,
``partitionable``; or writes them with an instance generator script that
takes the output folder as its argument), solves each one several times as
AMWC and as MWC, and logs per instance: nodes, edges, labels, median wall
and CPU seconds, objective, and the time ratios / objective difference to a
reference table (markdown rows ``| name | nodes | edges | labels | amwc s |
amwc objective | mwc s | mwc objective |``). Then it times the batched call
on copies of one instance with 1 thread and with all threads. The folder
holding the generator and the reference table can be given once as
``AMWC_BENCH_DIR`` (``make_amwc_instances.py`` and ``REFERENCE.md`` there).

Example::

    python tools/analysis_tools/benchmark_amwc.py --instances DIR --reference REFERENCE.md --repeats 5
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

from mmcv_ops import solve_amwc, solve_amwc_batch, solve_mwc

BENCH_DIR = os.environ.get('AMWC_BENCH_DIR')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--instances',
        help='folder of .npz instances (default: generate them with '
        '--generator into a temporary folder)')
    parser.add_argument(
        '--generator',
        default=BENCH_DIR and osp.join(BENCH_DIR, 'make_amwc_instances.py'),
        help='instance generator script')
    parser.add_argument(
        '--reference',
        default=BENCH_DIR and osp.join(BENCH_DIR, 'REFERENCE.md'),
        help='markdown file with the reference table (default: none)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='solves per instance and problem (median)')
    parser.add_argument(
        '--batch-instance',
        default='b_128x256_L19',
        help='instance copied for the batched timing')
    parser.add_argument('--batch-copies', type=int, default=4)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='threads of every solve and of the batched call (default: '
        'all available cores)')
    return parser.parse_args()


def read_reference(path):
    """{instance: (amwc_s, amwc_obj, mwc_s, mwc_obj)} from the markdown table;
    empty when the file does not exist."""
    if path is None or not osp.isfile(path):
        return {}
    reference = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if len(cells) == 8 and re.fullmatch(r'[a-z]_\w+', cells[0]):
                reference[cells[0]] = tuple(
                    float(c.replace(',', '')) for c in cells[4:])
    return reference


def load_instances(args, workdir):
    folder = args.instances
    if folder is None:
        if args.generator is None or not osp.isfile(args.generator):
            raise FileNotFoundError(
                f'instance generator {args.generator} not found; pass '
                '--generator or --instances')
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


def main():
    args = parse_args()
    logger = MMLogger.get_instance('benchmark_amwc', log_level='INFO')
    reference = read_reference(args.reference)
    with tempfile.TemporaryDirectory() as workdir:
        instances = load_instances(args, workdir)
    logger.info(
        '| instance | nodes | edges | labels | problem | median s | '
        'median CPU s | objective | ref s | ratio (wall) | ratio (CPU) '
        '| obj - ref |')
    logger.info('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for name, inst in instances.items():
        problems = (
            ('AMWC', lambda: solve_amwc(
                inst['node_costs'],
                inst['edges'],
                inst['edge_costs'],
                inst['partitionable'],
                num_threads=args.threads)),
            ('MWC', lambda: solve_mwc(
                inst['node_costs'],
                inst['edges'],
                inst['edge_costs'],
                num_threads=args.threads)),
        )
        for k, (problem, solve) in enumerate(problems):
            seconds, cpu, result = timed(solve, args.repeats)
            ref = reference.get(name)
            ref_cells = '| - | - | - | - |'
            if ref is not None:
                ref_s, ref_obj = ref[2 * k], ref[2 * k + 1]
                ref_cells = (
                    f'| {ref_s:.3f} | {ref_s / max(seconds, 1e-9):.1f}x'
                    f' | {ref_s / max(cpu, 1e-9):.1f}x | '
                    f'{result.objective - ref_obj:+.3f} |')
            num_nodes, num_labels = inst['node_costs'].shape
            logger.info(f'| {name} | {num_nodes} | {len(inst["edges"])} | '
                        f'{num_labels} | {problem} | {seconds:.3f} | '
                        f'{cpu:.3f} | {result.objective:.3f} {ref_cells}')

    if args.batch_instance in instances and args.batch_copies > 0:
        inst = instances[args.batch_instance]
        copies = args.batch_copies

        def batch(threads):
            return solve_amwc_batch(
                [inst['node_costs']] * copies,
                inst['edges'], [inst['edge_costs']] * copies,
                inst['partitionable'],
                num_threads=threads)

        serial, _, _ = timed(lambda: batch(1), args.repeats)
        parallel, _, results = timed(lambda: batch(args.threads), args.repeats)
        threads = args.threads or len(os.sched_getaffinity(0))
        logger.info(
            f'batch of {copies} x {args.batch_instance}: 1 thread '
            f'{serial:.3f} s, {threads} threads {parallel:.3f} s, '
            f'speed-up {serial / parallel:.2f}x; identical objectives: '
            f'{len({r.objective for r in results}) == 1}')
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    logger.info(f'peak resident memory of this process: {peak_mb:.0f} MB')


if __name__ == '__main__':
    main()
