"""mmdet's own tools run through ``tools/misc/mmdet_tool.py``:
``model_converters/publish_model.py`` on a runner checkpoint (which holds
mmengine's HistoryBuffer, refused by torch's weights-only loading unless the
project's allow-list is registered)."""
import glob
import os
import os.path as osp
import subprocess
import sys
import time

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import save_checkpoint

from projects.cops_runtime.utils import register_checkpoint_safe_globals

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WRAPPER = osp.join(REPO, 'tools/misc/mmdet_tool.py')


def run(args, cwd):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    return subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)


@pytest.mark.slow
def test_publish_model_keeps_meta_and_state_dict(tmp_path):
    hub = MessageHub('publish_test')
    hub.update_scalar('train/loss', 1.0)
    checkpoint = str(tmp_path / 'iter_4.pth')
    save_checkpoint(
        dict(
            state_dict=dict(weight=torch.arange(3.)),
            meta=dict(dataset_meta=dict(classes=('a', ))),
            message_hub=hub.state_dict(),
            optimizer=dict(state={})), checkpoint)
    mmdet_tool = osp.join(
        osp.dirname(__import__('mmdet').__file__),
        '.mim/tools/model_converters/publish_model.py')
    plain = run([mmdet_tool, checkpoint, str(tmp_path / 'plain.pth')],
                tmp_path)
    assert plain.returncode != 0 and 'HistoryBuffer' in plain.stderr

    proc = run([
        WRAPPER, 'model_converters/publish_model.py', checkpoint,
        str(tmp_path / 'published.pth')
    ], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for _ in range(50):  # publish_model renames with a background `mv`
        published = glob.glob(str(tmp_path / 'published-*.pth'))
        if published:
            break
        time.sleep(0.1)
    assert len(published) == 1
    register_checkpoint_safe_globals()
    result = torch.load(published[0], map_location='cpu')
    assert set(result) == {'meta', 'state_dict'}
    assert torch.equal(result['state_dict']['weight'], torch.arange(3.))


@pytest.mark.slow
def test_unknown_tool_is_named(tmp_path):
    proc = run([WRAPPER, 'analysis_tools/no_such_tool.py'], tmp_path)
    assert proc.returncode != 0
    assert "no mmdet tool 'analysis_tools/no_such_tool.py'" in proc.stderr
