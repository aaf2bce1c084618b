"""Device tests: every test taking ``device`` runs on the CPU and, when a
CUDA GPU is visible, on ``cuda`` (skipped otherwise, never failing on CPU
machines; ``tools/check_gpu.sh`` runs them with ``-k cuda``). The tiny
models of ``tests/test_models/test_detectors`` are reused."""
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(
    0, osp.join(osp.dirname(__file__), '..', 'test_models', 'test_detectors'))

DEVICES = [
    pytest.param('cpu', id='cpu'),
    pytest.param(
        'cuda',
        id='cuda',
        marks=pytest.mark.skipif(
            not torch.cuda.is_available(), reason='needs a CUDA GPU')),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """``torch.device`` of the test case."""
    return torch.device(request.param)
