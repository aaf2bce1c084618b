"""The r50 configs (the published method) resolve to their recorded
effective config: a restructured ``_base_`` chain must not change a value.

The records hold ``cfg.to_dict()`` as JSON, one line per top-level key
(the order of dict keys does not matter, the order of lists does). After a deliberate
change of a value, rewrite them with
``python tests/test_effective_configs.py`` and review the diff.
"""
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
RECORDS = osp.join(REPO, 'tests', 'effective_configs')
CONFIGS = ('cops_r50_cityscapes_pretrain', 'cops_r50_cityscapes',
           'cops_r50_coco_pretrain', 'cops_r50_coco')


def effective_config(name):
    """``configs/<name>.py`` as JSON values (tuples as lists)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))
    return json.loads(json.dumps(cfg.to_dict(), default=repr))


def record_path(name):
    return osp.join(RECORDS, f'{name}.json')


@pytest.mark.parametrize('name', CONFIGS)
def test_config_resolves_to_its_record(name):
    with open(record_path(name)) as f:
        record = json.load(f)
    assert effective_config(name) == record


if __name__ == '__main__':
    for config in (sys.argv[1:] or CONFIGS):
        lines = [
            f'{json.dumps(key)}: {json.dumps(value, sort_keys=True)}'
            for key, value in sorted(effective_config(config).items())
        ]
        with open(record_path(config), 'w') as f:
            f.write('{\n' + ',\n'.join(lines) + '\n}\n')
