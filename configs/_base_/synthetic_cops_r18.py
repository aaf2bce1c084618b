# COPS on the embedded synthetic data: a ResNet-18 "DeepLab" backbone
# trained from scratch at half width with narrow decoders, sized for a CPU
# demo; the model, data, targets and runtime that both stages share
# (cops_r18_synthetic_pretrain.py and cops_r18_synthetic.py add their
# schedules).
_base_ = [
    './models/cops_r50.py', './datasets/synthetic_panoptic.py',
    './default_runtime.py'
]

num_things_classes = 3
num_stuff_classes = 3
# 128 x 128 images -> a 32 x 32 grid; instances span 4-12 grid points.
edge_distances = (1, 4, 8)

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
        decoder=decoder,
        num_classes=num_things_classes + num_stuff_classes,
        head_channels=64),
    affinity_head=dict(
        decoder=decoder,
        num_classes=num_things_classes + num_stuff_classes,
        edge_distances=edge_distances,
        head_channels=64,
        classifier_channels=32),
    # areas in pixels of the 128 x 128 images
    test_cfg=dict(instance_min_area=32, stuff_min_area=64))

# the COPS targets packed instead of mmdet's PackDetInputs (after every
# geometric transform); small instances: under 400 of the 16384 pixels
train_pipeline = [
    *[t for t in _base_.train_pipeline if t.type != 'PackDetInputs'],
    dict(
        type='GenerateCOPSTargets',
        edge_distances=edge_distances,
        small_instance_area=400),
    dict(type='PackCOPSInputs')
]
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler'),
    dataset=dict(pipeline=train_pipeline))
