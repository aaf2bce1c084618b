"""mmengine checkpoints load with torch's ``weights_only=True`` once the
allow-list is registered."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from projects.cops_runtime.utils.checkpoint_safe_globals import (
    history_buffer_statistic, register_checkpoint_safe_globals)

register_checkpoint_safe_globals()


def test_message_hub_state_loads_weights_only(tmp_path):
    hub = MessageHub.get_instance('test_safe_globals')
    for step in range(3):
        hub.update_scalar('train/loss', np.float64(0.5 * step))
        hub.update_info('iter', step)
    checkpoint = dict(
        meta=dict(dataset_meta=dict(classes=('a', 'b')), seed=1),
        message_hub=hub.state_dict(),
        state_dict=dict(weight=torch.ones(2)),
        extra=np.arange(4, dtype=np.int64))
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)

    loaded = torch.load(path, weights_only=True)

    history = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer)
    assert history.current() == pytest.approx(1.0)
    assert history.mean() == pytest.approx(0.5)
    np.testing.assert_array_equal(loaded['extra'], np.arange(4))


def test_getattr_stand_in_refuses_other_attributes():
    assert history_buffer_statistic(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        history_buffer_statistic(np, 'load')
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        history_buffer_statistic(HistoryBuffer, '__class__')
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        history_buffer_statistic(HistoryBuffer, 'register_statistics')


class _DunderLookup:
    """Pickles to ``getattr(HistoryBuffer, '__init__')``: not a statistic."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_arbitrary_getattr_in_checkpoint_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _DunderLookup()}, path)
    with pytest.raises(pickle.UnpicklingError, match='__init__'):
        torch.load(path, weights_only=True)
