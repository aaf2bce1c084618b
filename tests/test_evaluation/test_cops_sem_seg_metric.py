"""COPSSemSegMetric: aAcc is the pixel accuracy (mmdet 3.3's equals mAcc)."""
import pytest
import torch
from mmengine.registry import init_default_scope

from mmdet.registry import METRICS
from projects.cops.evaluation import COPSSemSegMetric  # noqa: F401 (registers)


@pytest.mark.parametrize('metric_type, expected_aacc', [
    ('COPSSemSegMetric', 90.0),
    ('SemSegMetric', 50.0),  # mmdet's: the mean of the class accuracies
])
def test_aacc_is_the_fraction_of_pixels_right(metric_type, expected_aacc):
    """90 pixels of class 0 predicted right, 10 of class 1 predicted as 0,
    5 ignored: pixel accuracy 90 %, class accuracies 100 % and 0 %."""
    init_default_scope('mmdet')
    metric = METRICS.build(dict(type=metric_type, prefix='sem_seg'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    label = torch.zeros(1, 5, 21, dtype=torch.long)
    label.view(-1)[90:100] = 1
    label.view(-1)[100:] = 255
    metric.process({}, [
        dict(
            pred_sem_seg=dict(sem_seg=torch.zeros_like(label)),
            gt_sem_seg=dict(sem_seg=label))
    ])
    metrics = metric.evaluate(1)
    assert metrics['sem_seg/aAcc'] == pytest.approx(expected_aacc)
    assert metrics['sem_seg/mAcc'] == pytest.approx(50.0)
    assert metrics['sem_seg/mIoU'] == pytest.approx(45.0)
