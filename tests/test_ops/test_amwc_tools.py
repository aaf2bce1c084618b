# Copyright (c) OpenMMLab. All rights reserved.
"""The solver's analysis tools run end to end on small inputs."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmcv_ops import grid_graph

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')

pytestmark = pytest.mark.slow


def run_tool(*args):
    return subprocess.run([sys.executable, *args],
                          cwd=ROOT,
                          check=True,
                          capture_output=True,
                          text=True)


def test_benchmark_on_npz_folder(tmp_path):
    rng = np.random.default_rng(0)
    edges = grid_graph(6, 8, [1, 2]).numpy().astype(np.int32)
    np.savez(
        tmp_path / 'x_6x8_L3.npz',
        node_costs=rng.normal(size=(48, 3)),
        edges=edges,
        edge_costs=rng.normal(size=len(edges)),
        partitionable=np.array([True, False, True]))
    reference = tmp_path / 'figures.md'
    reference.write_text(
        f'| x_6x8_L3 | 48 | {len(edges)} | 3 | 0.5 | -1.0 | 0.5 | -1.0 |\n')
    out = run_tool(
        osp.join(TOOLS, 'benchmark_amwc.py'), '--instances', str(tmp_path),
        '--reference-table', str(reference), '--repeats', '1',
        '--batch-instance', 'x_6x8_L3', '--batch-copies', '2')
    log = out.stdout + out.stderr
    for problem in ('AMWC', 'MWC'):
        assert f'| x_6x8_L3 | 48 | {len(edges)} | 3 | {problem} |' in log
    assert '| 0.5000 |' in log  # the table's reference seconds
    assert 'backward: 5 perturbed MWC' in log
    assert 'batch of 2 x x_6x8_L3' in log
    assert 'identical objectives: True' in log

    # a reference binary measured in the same run: it reads the raw instance;
    # three processes whose AMWC seconds are 0.25, 0.75 and 0.35 (a count
    # in a file): the median, 0.35, is taken
    binary = tmp_path / 'reference.py'
    calls = tmp_path / 'calls'
    binary.write_text(
        f'#!{sys.executable}\n'
        'import os, sys, numpy as np\n'
        'n, l, e = np.fromfile(sys.argv[1], np.int64, 3)\n'
        f'path = {str(calls)!r}\n'
        'k = int(open(path).read()) if os.path.exists(path) else 0\n'
        'open(path, "w").write(str(k + 1))\n'
        'cpu = (0.25, 0.75, 0.35)[k % 3]\n'
        'print(f"AMWC wall 0.1 cpu {cpu} objective {n * l * e}")\n'
        'print("MWC wall 0.1 cpu 0.5 objective -1.0")\n')
    binary.chmod(0o755)
    out = run_tool(
        osp.join(TOOLS, 'benchmark_amwc.py'), '--instances', str(tmp_path),
        '--reference-binary', str(binary), '--repeats', '1',
        '--batch-copies', '0')
    log = out.stdout + out.stderr
    assert 'reference: same run' in log
    assert '| 0.3500 |' in log and '| 0.5000 |' in log
    assert calls.read_text() == '3'  # --reference-runs 3 by default


def test_fuzz_tool_short_run():
    out = run_tool(
        osp.join(TOOLS, 'fuzz_amwc.py'), '--cases', '60', '--batch-size', '25')
    assert '60 random instances solved' in out.stdout + out.stderr
