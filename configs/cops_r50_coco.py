# COPS stage 2 on COCO panoptic (COPS.md §5): from the stage-1 checkpoint,
# train through the AMWC solver with the PQ surrogate loss only (weight 100),
# Adam lr 1e-4 with 500 warm-up iterations and poly decay, 20k iterations,
# short side 448..768 (the original's stage-2 yaml), 640 x 640 crops.
# Backbone and both decoders frozen, batch norms frozen, heads at a reduced
# lr, AMWC inputs with dropout 0.1; perturbation lambda ~ U[1000, 5000],
# 5 samples.
# Batch: 6 images per process; `tools/dist_train.sh configs/cops_r50_coco.py
# 4` trains with the original's total of 24.
_base_ = './cops_r50_coco_pretrain.py'

# stage-1 checkpoint; tools/train.py stops at once when it is missing and
# names the command that writes it (python tools/train.py pretrain_config)
pretrain_config = 'configs/cops_r50_coco_pretrain.py'
load_from = 'work_dirs/cops_r50_coco_pretrain/iter_50000.pth'
max_iters = 20000
warmup_iters = 500

model = dict(
    type='COPSEndToEnd',
    cost_head=dict(dropout_ratio=0.1),
    # areas in points of the stride-4 output grid, as the original: it
    # drops clusters under 12 // 4 points; its training foreground areas
    # are 200 / 4 (instances) and 4096 / 4 / 4 (stuff, also reduced for
    # crops) grid points
    amwc_layer=dict(
        type='AMWCLayer',
        min_instance_area=3,
        lambda_range=(1000., 5000.),
        num_samples=5),
    loss_pq=dict(
        type='PQSurrogateLoss',
        thing_min_area=50,
        stuff_min_area=256,
        loss_weight=100.0),
    frozen_modules=('backbone', 'semantic_head.decoder',
                    'affinity_head.decoder'),
    norm_eval=True)

# The original's stage-2 targets (fully_differentiable yaml): instance and
# small-instance weights 1, so the boundary weights that mask the solver's
# edge gradients are 0 / 1.
# Short side 448..768 (step 64) as the original's stage-2 yaml.
train_pipeline = [
    dict(t, small_instance_weight=1.0, instance_boundary_weight=1.0)
    if t.type == 'GenerateCOPSTargets' else dict(
        t, scales=[(960, short) for short in range(448, 769, 64)])
    if t.type == 'RandomChoiceResize' else t for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=6, dataset=dict(pipeline=train_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=24)
optim_wrapper = dict(
    optimizer=dict(lr=1e-4),
    paramwise_cfg=dict(
        custom_keys={
            'semantic_head.convs': dict(lr_mult=1 / 40),
            'semantic_head.conv_seg': dict(lr_mult=1 / 20),
            'affinity_head.convs': dict(lr_mult=1 / 40),
            'affinity_head.classifiers': dict(lr_mult=1 / 20),
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        begin=0,
        end=warmup_iters,
        by_epoch=False),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
default_hooks = dict(checkpoint=dict(interval=2000))
