# COPS stage 1 (pretraining of the semantic and affinity heads) on the
# embedded synthetic data: a ResNet-18 "DeepLab" backbone trained from
# scratch at half width with narrow decoders, sized for a CPU demo (see
# README).
_base_ = [
    './_base_/models/cops_r50.py', './_base_/datasets/synthetic_panoptic.py',
    './_base_/schedules/pretrain_adam_poly_50k.py',
    './_base_/default_runtime.py'
]

num_things_classes = 3
num_stuff_classes = 3
num_classes = num_things_classes + num_stuff_classes
# 128 x 128 images -> a 32 x 32 grid; instances span 4-12 grid points.
edge_distances = (1, 4, 8)
max_iters = 500

decoder = dict(
    in_channels=(32, 64, 256),
    aspp_channels=64,
    aspp_dilations=(2, 4, 6),
    project_channels=(16, 32),
    decoder_channels=64)
model = dict(
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        multi_grid=None,
        init_cfg=None),
    semantic_head=dict(
        decoder=decoder, num_classes=num_classes, head_channels=64),
    affinity_head=dict(
        decoder=decoder,
        num_classes=num_classes,
        edge_distances=edge_distances,
        head_channels=64,
        classifier_channels=32),
    # areas in pixels of the 128 x 128 images
    test_cfg=dict(instance_min_area=32, stuff_min_area=64))

# The dataset's training pipeline with the COPS targets packed instead of
# mmdet's PackDetInputs (after every geometric transform).
train_pipeline = [
    *[t for t in _base_.train_pipeline if t.type != 'PackDetInputs'],
    dict(
        type='GenerateCOPSTargets',
        edge_distances=edge_distances,
        stride=_base_.output_stride,
        small_instance_area=400,
        small_instance_weight=3.0,
        instance_boundary_weight=4.0),
    dict(type='PackCOPSInputs')
]
train_dataloader = dict(
    batch_size=8,
    sampler=dict(type='InfiniteSampler'),
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
