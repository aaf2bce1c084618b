"""COPS: fully differentiable panoptic segmentation, as an mmdet project.

Importing this package registers the detector, heads, losses, datasets,
transforms and metrics in mmdet's registries (configs do it via
``custom_imports``). Framework work-arounds (hooks, CPU distributed set-up,
checkpoint loading) live apart, in :mod:`projects.cops_runtime`.
"""
from .datasets import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
