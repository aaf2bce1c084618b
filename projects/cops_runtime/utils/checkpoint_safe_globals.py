"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

torch >= 2.6 loads checkpoints with ``weights_only=True``. mmengine 0.10 stores
numpy arrays and scalars (in the message hub's log history) and
:class:`~mmengine.logging.HistoryBuffer` objects in every checkpoint it saves,
so ``--resume`` and ``load_from`` fail with "Unsupported global". Instead of
turning the safety off, this module allow-lists exactly the globals those
checkpoints contain. ``HistoryBuffer`` pickles its statistics methods through
``builtins.getattr``; that name is mapped to :func:`history_buffer_statistic`,
which resolves only ``HistoryBuffer`` statistics, never arbitrary attributes.
"""
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

NUMPY_GLOBALS = [
    np.core.multiarray._reconstruct,
    np.core.multiarray.scalar,
    np.ndarray,
    np.dtype,
] + [type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFD']


def history_buffer_statistic(owner, name):
    """``getattr`` stand-in: ``HistoryBuffer.<statistic>`` only.

    Allowed are the public methods defined on ``HistoryBuffer`` (``mean``,
    ``min``, ``max``, ``current``, ...) and statistics registered with
    ``HistoryBuffer.register_statistics``.
    """
    allowed = owner is HistoryBuffer and (
        name in HistoryBuffer._statistics_methods or
        (not name.startswith('_') and callable(vars(HistoryBuffer).get(name))))
    if not allowed:
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({owner!r}, {name!r}); only '
            'HistoryBuffer statistics methods are allowed')
    return getattr(HistoryBuffer, name)


def register_checkpoint_safe_globals():
    """Allow-list mmengine checkpoint globals for ``weights_only`` loads."""
    torch.serialization.add_safe_globals(
        NUMPY_GLOBALS + [HistoryBuffer,
                         (history_buffer_statistic, 'builtins.getattr')])
