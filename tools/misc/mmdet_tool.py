"""Run one of mmdet's own tools (installed with mmdet, under
``mmdet/.mim/tools``) with the COPS project loaded.

The project's modules are registered and torch's weights-only checkpoint
loading accepts mmengine's checkpoint contents (``HistoryBuffer`` ...), which
tools such as ``model_converters/publish_model.py`` load without a config.

Example::

    python tools/misc/mmdet_tool.py model_converters/publish_model.py \
        work_dirs/cops_r18_synthetic/iter_2000.pth cops_r18_synthetic.pth
"""
import os.path as osp
import runpy
import sys

import mmdet

import projects.cops  # noqa: F401 (registers the project's modules)
from projects.cops_runtime.utils import register_checkpoint_safe_globals

MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ('-h', '--help'):
        raise SystemExit(f'usage: {sys.argv[0]} TOOL [ARGS ...], TOOL a '
                         f'path under {MMDET_TOOLS}')
    script = osp.join(MMDET_TOOLS, sys.argv[1])
    if not osp.isfile(script):
        raise SystemExit(f'no mmdet tool {sys.argv[1]!r} in {MMDET_TOOLS}')
    register_checkpoint_safe_globals()
    sys.argv = [script] + sys.argv[2:]
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()
