"""Test-suite configuration: the one synthetic dataset the tests share.

Tests that launch processes (tools/ or demo/ scripts, torchrun, worker
processes) are marked ``slow``
(``pytest -m "not slow"`` is the fast tier; ``make test`` runs all).
"""
import pytest

from projects.cops.datasets.synthetic_generator import SceneParams, generate

# 12 train / 4 val images of 64 x 64 with shapes 12-32 px across: enough for
# batches of 2 on 2 processes, small enough to train a few iterations in
# seconds.
NUM_TRAIN, NUM_VAL, IMAGE_SIZE = 12, 4, 64
SCENE = SceneParams(size=IMAGE_SIZE, min_extent=12., max_extent=32.)


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """``<tmp>/data/synthetic/`` (with the trailing slash) holding the
    synthetic dataset, so that from ``<tmp>`` the configs' own relative
    ``data_root`` finds it. Shared by the whole session: copy it before
    changing it."""
    root = tmp_path_factory.mktemp('run') / 'data' / 'synthetic'
    generate(str(root), NUM_TRAIN, NUM_VAL, seed=0, params=SCENE)
    return str(root) + '/'
