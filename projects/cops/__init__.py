"""COPS: fully differentiable panoptic segmentation, as an mmdet project.

Importing this package registers the detector, heads, losses, datasets,
transforms, hooks and metrics in mmdet's registries (configs do it via
``custom_imports``).
"""
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
