# COPS stage 1 on COCO panoptic (COPS.md §5): semantic CE on all pixels
# (the original's top-k 1.0 on COCO) + boundary BCE (top 25 %, weight
# 0.25), Adam lr 1e-4 with warm-up and poly decay, 50k iterations, 640 x 640
# crops, batches padded to a multiple of 640, SyncBN.
# Batch: 12 images per process; `tools/dist_train.sh
# configs/cops_r50_coco_pretrain.py 4` trains with the original's total of
# 48 (with N processes set train_dataloader.batch_size=48/N; SyncBN needs a
# distributed launch, use BN for one process).
_base_ = [
    './_base_/models/cops_r50.py', './_base_/datasets/coco_panoptic.py',
    './_base_/schedules/pretrain_adam_poly_50k.py',
    './_base_/default_runtime.py'
]

num_things_classes = 80
num_stuff_classes = 53
num_classes = num_things_classes + num_stuff_classes
edge_distances = (1, 4, 16, 32)
norm_cfg = dict(type='SyncBN', requires_grad=True)
# ASPP image pooling over a crop-sized window (640 x 640 crop / stride 16),
# as the original's detectron2 decoders (train_size)
decoder = dict(norm_cfg=norm_cfg, aspp_pool_kernel=(640 // 16, 640 // 16))

model = dict(
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
    data_preprocessor=dict(pad_size_divisor=640),
    semantic_head=dict(
        decoder=decoder,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        loss_sem=dict(top_k_ratio=1.0)),
    affinity_head=dict(
        decoder=decoder,
        num_classes=num_classes,
        edge_distances=edge_distances,
        norm_cfg=norm_cfg),
    test_cfg=dict(instance_min_area=200, stuff_min_area=4096))

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
train_dataloader = dict(batch_size=12, dataset=dict(pipeline=train_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=48)
