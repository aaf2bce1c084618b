"""InferenceTimeMetric: mean seconds per image of each stage."""
import pytest
from mmdet.registry import METRICS
from mmengine.registry import init_default_scope

import projects.cops  # noqa: F401  (registers the metric)


def samples(*times):
    return [
        dict(
            img_path=f'{i}.png',
            time_network=network,
            time_solver=solver,
            time_postprocess=post)
        for i, (network, solver, post) in enumerate(times)
    ]


def test_means_per_stage_and_total():
    init_default_scope('mmdet')
    metric = METRICS.build(dict(type='InferenceTimeMetric'))
    metric.process({}, samples((0.5, 0.25, 0.1), (0.25, 0.75, 0.3)))
    metric.process({}, samples((0.75, 0.5, 0.2)))
    results = metric.evaluate(3)
    assert results == pytest.approx({
        'sec_per_img/network': 0.5,
        'sec_per_img/solver': 0.5,
        'sec_per_img/postprocess': 0.2,
        'sec_per_img/total': 1.2
    })


def test_selected_stages_and_prefix():
    metric = METRICS.build(
        dict(type='InferenceTimeMetric', stages=['solver'], prefix='t'))
    metric.process({}, samples((9., 0.5, 9.)))
    assert metric.evaluate(1) == {'t/solver': 0.5, 't/total': 0.5}


def test_missing_times_name_the_image():
    metric = METRICS.build(dict(type='InferenceTimeMetric'))
    with pytest.raises(ValueError, match=r"0\.png has no \['time_network'"):
        metric.process({}, [dict(img_path='0.png', time_solver=1.)])
    with pytest.raises(ValueError, match='at least one stage'):
        METRICS.build(dict(type='InferenceTimeMetric', stages=[]))
