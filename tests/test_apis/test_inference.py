"""mmdet's inference API on a saved COPS checkpoint."""
import glob
import os.path as osp

import cv2
import mmengine
import numpy as np
import torch
from mmdet.apis import DetInferencer, inference_detector, init_detector
from mmdet.evaluation.functional import INSTANCE_OFFSET

from projects.cops.apis import COPSInferencer

NUM_THINGS, NUM_CLASSES = 3, 6


def check_panoptic(sample, shape):
    """mmdet's panoptic convention and its consistency with the semantic
    and instance outputs."""
    pan = sample.pred_panoptic_seg.sem_seg
    assert pan.shape == (1, *shape) and pan.dtype == torch.int64
    classes, instances = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
    assert classes.max() <= NUM_CLASSES  # NUM_CLASSES = void
    thing = classes < NUM_THINGS
    assert torch.all(instances[~thing] == 0)  # stuff and void: id 0
    assert torch.all(instances[thing] >= 1)
    assert sample.pred_sem_seg.sem_seg.shape == (1, *shape)
    instances = sample.pred_instances
    thing_ids = pan.unique()[pan.unique() >= INSTANCE_OFFSET]
    assert len(instances) == len(thing_ids)
    for mask, label in zip(instances.masks, instances.labels):
        segment_ids = pan[0][mask].unique()
        assert segment_ids.numel() == 1
        assert segment_ids[0] % INSTANCE_OFFSET == label
        assert torch.equal(mask, pan[0] == segment_ids[0])


def test_init_detector_and_inference_detector(synthetic_root, cops_config,
                                              cops_checkpoint):
    model = init_detector(cops_config, cops_checkpoint, device='cpu')
    assert model.dataset_meta['classes'][:NUM_THINGS] == ('disc', 'square',
                                                          'triangle')
    image_files = sorted(glob.glob(synthetic_root + 'val/*.png'))
    samples = inference_detector(model, image_files[:2])
    for sample in samples:
        check_panoptic(sample, (64, 64))
        assert len(sample.pred_instances) > 0
    # an RGB array of another size, as mmdet's API accepts
    image = cv2.resize(cv2.imread(image_files[0]), (80, 48))
    check_panoptic(inference_detector(model, image), (48, 80))


def test_cops_inferencer_writes_visualisations_and_json(
        synthetic_root, cops_config, cops_checkpoint, tmp_path):
    inferencer = COPSInferencer(
        model=cops_config, weights=cops_checkpoint, device='cpu')
    out_dir = str(tmp_path / 'out')
    inferencer(
        synthetic_root + 'val',
        out_dir=out_dir,
        batch_size=2,
        no_save_pred=False,
        save_result_images=True)
    names = sorted(
        osp.splitext(name)[0]
        for name in mmengine.list_dir_or_file(synthetic_root + 'val'))
    assert len(names) == 4  # the shared data's val split
    for name in names:
        vis = cv2.imread(osp.join(out_dir, 'vis', name + '.png'))
        assert vis is not None and vis.shape == (64, 64, 3)
        pred = mmengine.load(osp.join(out_dir, 'preds', name + '.json'))
        assert set(pred) >= {'labels', 'scores', 'masks', 'panoptic_seg_path'}
        pan_png = cv2.imread(pred['panoptic_seg_path'])
        assert pan_png is not None and pan_png.shape == (64, 64, 3)
        prefix = osp.join(out_dir, 'result_images', name)
        for kind in ('panoptic', 'semantic', 'boundary_d1', 'boundary_d4',
                     'boundary_d8'):
            image = cv2.imread(f'{prefix}_{kind}.png')
            assert image is not None and image.shape == (64, 64, 3), kind
        boundary = cv2.imread(f'{prefix}_boundary_d1.png', 0)
        assert set(np.unique(boundary)) <= {0, 255}


def test_mmdet_det_inferencer_works_with_cops_configs(synthetic_root,
                                                      cops_config,
                                                      cops_checkpoint,
                                                      tmp_path):
    inferencer = DetInferencer(
        model=cops_config, weights=cops_checkpoint, device='cpu')
    out_dir = str(tmp_path / 'out')
    image_file = sorted(glob.glob(synthetic_root + 'val/*.png'))[0]
    prediction = inferencer(
        image_file, out_dir=out_dir, no_save_pred=False)['predictions'][0]
    name = osp.splitext(osp.basename(image_file))[0]
    assert cv2.imread(osp.join(out_dir, 'vis', name + '.png')) is not None
    pan_png = cv2.imread(prediction['panoptic_seg_path'])
    assert pan_png is not None and pan_png.shape == (64, 64, 3)
    assert len(prediction['labels']) == len(prediction['masks']) > 0
