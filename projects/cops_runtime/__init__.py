"""Runtime support of this repository, apart from the COPS method.

Framework work-arounds the tools and configs need on the OpenMMLab 2.0 stack
with torch 2.13 on CPU machines: checkpoint loading with
``weights_only=True``, CPU distributed set-up with a synchronised batch norm,
the ``--cfg-options`` merge, and training-loop hooks (per-iteration seeding,
finite-loss check, rank-averaged loss logs). Importing it registers the hooks
and ``CPUSyncBN``; the configs do it via ``custom_imports``. Checkpoint safe
globals are not registered on import: tools and inferencers call
:func:`register_checkpoint_safe_globals`.
"""
from .engine import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
