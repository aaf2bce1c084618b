# COPS r50 on COCO panoptic: the model, data, targets and runtime that both
# stages share (cops_r50_coco_pretrain.py and cops_r50_coco.py add their
# schedules). As the original's COCO yaml: SyncBN everywhere, batches padded
# to a multiple of 640, semantic CE on all pixels (top-k 1.0).
_base_ = [
    './models/cops_r50.py', './datasets/coco_panoptic.py',
    './default_runtime.py'
]

num_things_classes = 80
num_stuff_classes = 53
# pixel offsets on the stride-4 grid (the original's EDGE_DISTANCES)
edge_distances = (1, 4, 16, 32)
# SyncBN needs a distributed launch; use BN for a single process
norm_cfg = dict(type='SyncBN')
# ASPP image pooling over a crop-sized window (640 x 640 crop / stride 16),
# as the original's detectron2 decoders (train_size)
decoder = dict(norm_cfg=norm_cfg, aspp_pool_kernel=(640 // 16, 640 // 16))

model = dict(
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
    data_preprocessor=dict(pad_size_divisor=640),
    backbone=dict(norm_cfg=norm_cfg),
    semantic_head=dict(
        decoder=decoder,
        num_classes=num_things_classes + num_stuff_classes,
        norm_cfg=norm_cfg,
        loss_sem=dict(top_k_ratio=1.0)),
    affinity_head=dict(
        decoder=decoder,
        num_classes=num_things_classes + num_stuff_classes,
        edge_distances=edge_distances,
        norm_cfg=norm_cfg),
    test_cfg=dict(stuff_min_area=4096))

# the COPS targets packed instead of mmdet's PackDetInputs (after every
# geometric transform)
train_pipeline = [
    *[t for t in _base_.train_pipeline if t.type != 'PackDetInputs'],
    dict(type='GenerateCOPSTargets', edge_distances=edge_distances),
    dict(type='PackCOPSInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
