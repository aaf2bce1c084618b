# Copyright (c) OpenMMLab. All rights reserved.
"""Fuzz the AMWC / MWC solver op with seeded random instances.

Solves ``--cases`` random instances (1..300 nodes, 1..20 labels, random
densities, duplicate edges, negative / zero / positive costs, random thing
masks, float32 and float64) through the batch API in batches of mixed sizes,
checks every solution independently with numpy (feasibility, stuff rule,
cut flags, exact objective) and checks that 1 and ``--threads`` threads give
identical results. Fails with the batch seed on the first violation.

Example::

    python tools/analysis_tools/fuzz_amwc.py --cases 10000
"""
import argparse
import time

import numpy as np
import torch
from mmengine.logging import MMLogger

from mmcv_ops import solve_amwc_batch, solve_mwc_batch
from mmcv_ops.testing import check_amwc_solution, random_amwc_instance


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cases', type=int, default=10000)
    parser.add_argument('--batch-size', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    return parser.parse_args()


def same_results(a, b):
    return all(
        torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y
        for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def fuzz_batch(rng, batch_size, threads):
    instances = [random_amwc_instance(rng) for _ in range(batch_size)]
    columns = {k: [inst[k] for inst in instances] for k in instances[0]}
    amwc = solve_amwc_batch(**columns, num_threads=threads)
    if not same_results(amwc, solve_amwc_batch(**columns, num_threads=1)):
        raise AssertionError('AMWC results depend on the thread count')
    del columns['partitionable']
    mwc = solve_mwc_batch(**columns, num_threads=threads)
    for instance, a, m in zip(instances, amwc, mwc):
        check_amwc_solution(instance, a.labels, a.cut, a.objective, a.clusters)
        check_amwc_solution(instance, m.labels, m.cut, m.objective)


def main():
    args = parse_args()
    logger = MMLogger.get_instance('fuzz_amwc', log_level='INFO')
    start = time.perf_counter()
    checked = 0
    batch_seed = args.seed
    while checked < args.cases:
        size = min(args.batch_size, args.cases - checked)
        try:
            fuzz_batch(np.random.default_rng(batch_seed), size, args.threads)
        except AssertionError as error:
            raise AssertionError(
                f'solver check failed in the batch of seed {batch_seed} '
                f'(batch size {size}): {error}') from error
        checked += size
        batch_seed += 1
    logger.info(f'{checked} random instances solved as AMWC and MWC and '
                f'checked, thread counts 1 and {args.threads} identical, in '
                f'{time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
