"""The COPS detector: tensor / loss / predict modes on a tiny network."""
import numpy as np
import pytest
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import MODELS
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import init_default_scope

from projects.cops.datasets.transforms import (GenerateCOPSTargets,
                                               PackCOPSInputs)

NUM_THINGS, NUM_STUFF = 2, 2
NUM_CLASSES = NUM_THINGS + NUM_STUFF
EDGE_DISTANCES = (1, 3)
DECODER = dict(
    type='DeepLabV3PlusDecoder',
    in_channels=(16, 32, 128),
    aspp_channels=16,
    aspp_dilations=(2, 3),
    project_channels=(8, 8),
    decoder_channels=16)


def tiny_cops_config(**test_cfg):
    """Config of a COPS detector small enough for unit tests."""
    return dict(
        type='COPS',
        num_things_classes=NUM_THINGS,
        num_stuff_classes=NUM_STUFF,
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[128., 128., 128.],
            std=[64., 64., 64.],
            bgr_to_rgb=True,
            pad_size_divisor=32),
        backbone=dict(
            type='mmseg.ResNetV1c',
            depth=18,
            stem_channels=16,
            base_channels=16,
            strides=(1, 2, 2, 1),
            dilations=(1, 1, 1, 2),
            out_indices=(0, 1, 3)),
        semantic_head=dict(
            type='COPSSemanticHead',
            decoder=DECODER,
            num_classes=NUM_CLASSES,
            head_channels=16),
        affinity_head=dict(
            type='COPSAffinityHead',
            decoder=DECODER,
            num_classes=NUM_CLASSES,
            edge_distances=EDGE_DISTANCES,
            head_channels=16,
            classifier_channels=8),
        test_cfg=test_cfg)


def tiny_cops(**test_cfg):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(tiny_cops_config(**test_cfg))


def synthetic_sample(seed, size=(48, 56)):
    """Two stuff halves with two touching squares of thing class 0 and a
    disc of thing class 1, packed like the training pipeline does."""
    rng = np.random.default_rng(seed)
    height, width = size
    sem = np.full(size, NUM_THINGS, np.uint8)
    sem[:, width // 2:] = NUM_THINGS + 1
    masks = np.zeros((3, height, width), np.uint8)
    top, left = rng.integers(4, 12, size=2)
    masks[0, top:top + 16, left:left + 12] = 1
    masks[1, top:top + 16, left + 12:left + 24] = 1
    yy, xx = np.mgrid[:height, :width]
    masks[2] = (yy - 34)**2 + (xx - 40)**2 < 64
    masks[2] &= masks[:2].sum(0) == 0
    for mask, label in zip(masks, (0, 0, 1)):
        sem[mask > 0] = label
    palette = np.array([[200, 40, 40], [40, 40, 200], [40, 160, 40],
                        [120, 120, 120]])
    img = palette[sem].astype(np.uint8)
    img[top:top + 16, left + 12] = 0  # the rim between the two squares
    results = dict(
        img=img,
        gt_seg_map=sem,
        gt_masks=BitmapMasks(masks, height, width),
        img_shape=size,
        ori_shape=size,
        img_id=seed,
        img_path=f'{seed}.png')
    results = GenerateCOPSTargets(EDGE_DISTANCES)(results)
    return PackCOPSInputs(
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape'))(
            results)


def batch(model, seeds, training, sizes=None):
    sizes = sizes or [(48, 56)] * len(seeds)
    samples = [
        synthetic_sample(seed, size) for seed, size in zip(seeds, sizes)
    ]
    return model.data_preprocessor(
        dict(
            inputs=[s['inputs'] for s in samples],
            data_samples=[s['data_samples'] for s in samples]), training)


def test_tensor_mode_shapes_for_odd_input():
    model = tiny_cops().eval()
    sem_logits, boundary_logits = model(
        torch.randn(1, 3, 61, 83), mode='tensor')
    assert sem_logits.shape == (1, NUM_CLASSES, 16, 21)
    assert boundary_logits.shape == (1, len(EDGE_DISTANCES), 2, 16, 21)


def test_losses_decrease_on_one_batch():
    model = tiny_cops().train()
    data = batch(model, [0, 1], training=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for _ in range(6):
        losses = model(**data, mode='loss')
        assert set(losses) == {'loss_sem', 'loss_boundary'}
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
        history.append({k: v.item() for k, v in losses.items()})
    assert history[-1]['loss_sem'] < 0.7 * history[0]['loss_sem']
    assert history[-1]['loss_boundary'] < history[0]['loss_boundary']


def test_batch_of_one_trains():
    # the ASPP image-pooling branch has no batch norm (as detectron2's), so
    # one image per process trains (a BN on one 1x1 value cannot)
    model = tiny_cops().train()
    losses = model(**batch(model, [0], training=True), mode='loss')
    sum(losses.values()).backward()
    assert model.semantic_head.decoder.image_pool.conv.weight.grad is not None


def test_predict_returns_valid_panoptic_map():
    model = tiny_cops(instance_min_area=4, stuff_min_area=4).eval()
    data = batch(model, [2], training=False)
    data['inputs'] = torch.randn_like(data['inputs'])
    with torch.no_grad():
        sample = model(**data, mode='predict')[0]
    pan = sample.pred_panoptic_seg.sem_seg
    assert pan.shape == (1, 48, 56) and pan.dtype == torch.int64
    classes, instances = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
    assert ((classes >= 0) & (classes <= NUM_CLASSES)).all()
    # stuff and void carry instance 0, things an instance >= 1
    assert (instances[classes >= NUM_THINGS] == 0).all()
    assert (instances[classes < NUM_THINGS] >= 1).all()
    assert sample.pred_sem_seg.sem_seg.shape == (1, 48, 56)
    instances = sample.pred_instances
    assert instances.masks.shape[1:] == (48, 56)
    assert len(instances.labels) == len(instances.scores) == len(
        instances.bboxes)
    for mask, label in zip(instances.masks, instances.labels):
        assert (classes[0][mask] == label).all()
    for stage in ('network', 'solver', 'postprocess'):
        assert sample.metainfo[f'time_{stage}'] >= 0


def test_predict_handles_padding_and_rescaling():
    model = tiny_cops().eval()
    # two sizes: the preprocessor pads both to 64 x 64
    data = batch(model, [3, 4], training=False, sizes=[(48, 56), (40, 36)])
    data['data_samples'][0].set_metainfo(dict(ori_shape=(24, 28)))
    with torch.no_grad():
        samples = model(**data, mode='predict')
    assert samples[0].pred_panoptic_seg.sem_seg.shape == (1, 24, 28)
    assert samples[1].pred_panoptic_seg.sem_seg.shape == (1, 40, 36)
    assert samples[1].pred_instances.masks.shape[1:] == (40, 36)


def test_mismatched_classes_raise():
    init_default_scope('mmdet')
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(
            dict(
                type='COPS',
                num_things_classes=NUM_THINGS,
                num_stuff_classes=NUM_STUFF + 1,
                backbone=dict(type='mmseg.ResNetV1c', depth=18),
                semantic_head=dict(
                    type='COPSSemanticHead',
                    decoder=DECODER,
                    num_classes=NUM_CLASSES),
                affinity_head=dict(
                    type='COPSAffinityHead',
                    decoder=DECODER,
                    num_classes=NUM_CLASSES)))
