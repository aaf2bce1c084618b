"""tools/check_gpu.sh on the CPU (--device cpu, small sizes): the script
and its Python part run end to end and write their figures."""
import json
import math
import subprocess

import pytest
from tool_runs import REPO, tool_env


@pytest.mark.slow
def test_check_gpu_script_runs_on_cpu(tmp_path):
    command = [
        'bash', 'tools/check_gpu.sh', '--device', 'cpu', '--train-size', '64',
        '128', '--batch-size', '2', '--train-steps', '1', '--test-size', '128',
        '256', '--repeats', '1'
    ]
    env = dict(tool_env(), OUT=str(tmp_path))
    proc = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'device tests skipped (--device cpu)' in proc.stdout
    with open(tmp_path / 'figures.json') as f:
        figures = json.load(f)
    assert figures['device'] == 'cpu'
    assert figures['train_size'] == [64, 128]
    assert set(figures['stage1']['steps'][0]) == {
        'seconds', 'loss', 'loss_sem', 'loss_boundary'
    }
    assert set(figures['stage2']['steps'][0]) == {'seconds', 'loss',
                                                   'loss_pq'}
    for stage in ('stage1', 'stage2'):
        assert math.isfinite(figures[stage]['steps'][0]['loss'])
    for network in ('untrained', 'confident'):
        times = figures[f'inference_{network}']
        assert times['solver'] > 0 and times['postprocess'] > 0
    # the confident network's output is the scene, its segments are found
    assert figures['inference_confident']['network'] < 0.01
    assert figures['inference_confident']['segments'] > 5


def test_check_gpu_refuses_cuda_without_a_gpu(tmp_path):
    """Without a GPU the default --device cuda stops at once, saying why."""
    import torch
    if torch.cuda.is_available():
        pytest.skip('a GPU is visible')
    proc = subprocess.run(['bash', 'tools/check_gpu.sh'],
                          cwd=REPO,
                          env=dict(tool_env(), OUT=str(tmp_path)),
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert 'no CUDA GPU visible' in proc.stderr
