"""Error types of tools/analysis_tools/panoptic_errors.py on planted cases."""
import importlib.util
import os.path as osp

import numpy as np
from tool_runs import REPO

spec = importlib.util.spec_from_file_location(
    'panoptic_errors',
    osp.join(REPO, 'tools', 'analysis_tools', 'panoptic_errors.py'))
panoptic_errors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(panoptic_errors)

THING, OTHER_THING, STUFF = 0, 1, 2
NUM_CLASSES = 3
OFFSET = 1000


def test_every_error_type():
    gt = np.full((20, 40), 1)  # segment 1: stuff
    infos = [dict(id=1, category_id=12)]
    pred = np.full((20, 40), STUFF)
    # five thing instances, one 4 x 4 square each (ids 2..6)
    for k in range(5):
        gt[2:6, 2 + 8 * k:6 + 8 * k] = 2 + k
        infos.append(dict(id=2 + k, category_id=10))
    # 2: matched; 3: predicted as the other thing class; 4: merged with
    # stuff pixels (IoU 1/3, covers it all); 5: split in two halves;
    # 6: missed (stuff)
    pred[2:6, 2:6] = THING + 1 * OFFSET
    pred[2:6, 10:14] = OTHER_THING + 2 * OFFSET
    pred[0:8, 16:24] = THING + 3 * OFFSET
    pred[2:6, 26:28] = THING + 4 * OFFSET
    pred[2:6, 28:30] = THING + 5 * OFFSET
    # a false-positive instance far from every thing
    pred[12:16, 2:6] = THING + 6 * OFFSET
    counts = panoptic_errors.image_errors(
        gt, infos, pred, NUM_CLASSES, {10: THING, 11: OTHER_THING, 12: STUFF},
        {THING, OTHER_THING})
    assert counts == {
        ('matched', 'stuff'): 1,
        ('matched', 'thing'): 1,
        ('wrong_class', 'thing'): 1,
        ('merged', 'thing'): 1,
        ('split', 'thing'): 1,
        ('missed', 'thing'): 1,
        # unmatched predictions: the wrong-class, merged, two split halves
        # and the planted one
        ('false_positive', 'thing'): 5,
    }
