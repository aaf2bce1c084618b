# COPS r50 on Cityscapes: the model, data, targets and runtime that both
# stages share (cops_r50_cityscapes_pretrain.py and cops_r50_cityscapes.py
# add their schedules).
_base_ = [
    './models/cops_r50.py', './datasets/cityscapes_panoptic.py',
    './default_runtime.py'
]

num_things_classes = 8
num_stuff_classes = 11
# pixel offsets on the stride-4 grid (the original's EDGE_DISTANCES)
edge_distances = (1, 4, 16, 32, 64)
# ASPP image pooling over a crop-sized window (512 x 1024 crop / stride 16),
# as the original's detectron2 decoders (train_size)
decoder = dict(aspp_pool_kernel=(512 // 16, 1024 // 16))

model = dict(
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
    semantic_head=dict(
        decoder=decoder,
        num_classes=num_things_classes + num_stuff_classes),
    affinity_head=dict(
        decoder=decoder,
        num_classes=num_things_classes + num_stuff_classes,
        edge_distances=edge_distances),
    test_cfg=dict(stuff_min_area=2048))

# the COPS targets packed instead of mmdet's PackDetInputs (after every
# geometric transform)
train_pipeline = [
    *[t for t in _base_.train_pipeline if t.type != 'PackDetInputs'],
    dict(type='GenerateCOPSTargets', edge_distances=edge_distances),
    dict(type='PackCOPSInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
