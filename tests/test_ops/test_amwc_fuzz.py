# Copyright (c) OpenMMLab. All rights reserved.
"""Seeded fuzzing of the solver through the batch API.

The default run checks FUZZ_CASES instances; set AMWC_FUZZ_CASES (e.g. to
10000) for a longer run, or use tools/analysis_tools/fuzz_amwc.py.
"""
import os

import numpy as np

from mmcv_ops import solve_amwc_batch, solve_mwc_batch
from mmcv_ops.testing import check_amwc_solution, random_amwc_instance

FUZZ_CASES = int(os.getenv('AMWC_FUZZ_CASES', '2000'))
BATCH = 50


def test_fuzz_batches_of_mixed_sizes():
    rng = np.random.default_rng(2024)
    checked = 0
    while checked < FUZZ_CASES:
        instances = [random_amwc_instance(rng) for _ in range(BATCH)]
        columns = {k: [inst[k] for inst in instances] for k in instances[0]}
        amwc = solve_amwc_batch(**columns, num_threads=2)
        del columns['partitionable']
        mwc = solve_mwc_batch(**columns, num_threads=2)
        for instance, a, m in zip(instances, amwc, mwc):
            check_amwc_solution(instance, a.labels, a.cut, a.objective,
                                a.clusters)
            check_amwc_solution(instance, m.labels, m.cut, m.objective)
        checked += BATCH
    assert checked >= FUZZ_CASES
