# COPS stage 1 on Cityscapes (COPS.md §5): semantic CE with hard-pixel
# mining + boundary BCE (top 25 %, weight 0.25), Adam lr 1e-4 with warm-up
# and poly decay, 50k iterations, 512 x 1024 crops, BN.
# Batch: 3 images per process; `tools/dist_train.sh
# configs/cops_r50_cityscapes_pretrain.py 4` trains with the original's
# total of 12 (with N processes set train_dataloader.batch_size=12/N).
_base_ = [
    './_base_/models/cops_r50.py', './_base_/datasets/cityscapes_panoptic.py',
    './_base_/schedules/pretrain_adam_poly_50k.py',
    './_base_/default_runtime.py'
]

num_things_classes = 8
num_stuff_classes = 11
num_classes = num_things_classes + num_stuff_classes
edge_distances = (1, 4, 16, 32, 64)

# ASPP image pooling over a crop-sized window (512 x 1024 crop / stride 16),
# as the original's detectron2 decoders (train_size)
decoder = dict(aspp_pool_kernel=(512 // 16, 1024 // 16))

model = dict(
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
    semantic_head=dict(decoder=decoder, num_classes=num_classes),
    affinity_head=dict(
        decoder=decoder,
        num_classes=num_classes,
        edge_distances=edge_distances),
    test_cfg=dict(instance_min_area=200, stuff_min_area=2048))

# The dataset's training pipeline with the COPS targets packed instead of
# mmdet's PackDetInputs (after every geometric transform).
train_pipeline = [
    *[t for t in _base_.train_pipeline if t.type != 'PackDetInputs'],
    dict(
        type='GenerateCOPSTargets',
        edge_distances=edge_distances,
        stride=_base_.output_stride,
        small_instance_area=4096,
        small_instance_weight=3.0,
        instance_boundary_weight=4.0),
    dict(type='PackCOPSInputs')
]
train_dataloader = dict(batch_size=3, dataset=dict(pipeline=train_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=12)
