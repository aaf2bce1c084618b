"""Fixtures of the reliability tests."""
import pytest
from reliability_utils import IMAGE_SIZE, NUM_TRAIN, NUM_VAL, load_generator


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """12 train / 4 val synthetic images of 64 x 64 pixels."""
    generator = load_generator()
    root = str(tmp_path_factory.mktemp('synthetic'))
    generator.generate(
        root,
        NUM_TRAIN,
        NUM_VAL,
        seed=0,
        params=generator.SceneParams(
            size=IMAGE_SIZE, min_extent=12., max_extent=32.))
    return root + '/'
