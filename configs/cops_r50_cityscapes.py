# COPS stage 2 on Cityscapes (arXiv 2106.03188, Sec. 5): from the stage-1
# checkpoint, train through the AMWC solver with the PQ surrogate loss only
# (weight 10), Adam lr 1e-3 with 500 warm-up iterations and poly decay, 20k
# iterations, 512 x 1024 crops. Backbone and both decoders frozen, batch
# norms frozen, heads at reduced lrs, AMWC inputs with dropout 0.1;
# perturbation lambda ~ U[1, 5000], 5 samples.
# Batch: 6 images per process; `tools/dist_train.sh
# configs/cops_r50_cityscapes.py 4` trains with the original's total of 24.
_base_ = [
    './_base_/cityscapes_cops_r50.py',
    './_base_/schedules/end_to_end_adam_poly_20k.py'
]

# stage-1 checkpoint; tools/train.py stops at once when it is missing and
# names the command that writes it (python tools/train.py pretrain_config)
pretrain_config = 'configs/cops_r50_cityscapes_pretrain.py'
load_from = 'work_dirs/cops_r50_cityscapes_pretrain/iter_50000.pth'

model = dict(
    type='COPSEndToEnd',
    # every weight comes from load_from: no ImageNet file needed here
    backbone=dict(init_cfg=None),
    # areas in points of the stride-4 output grid, as the original: it
    # drops clusters under 12 // 4 points; its training foreground areas
    # are 200 / 4 (instances) and 2048 / 4 / 4 (stuff, also reduced for
    # crops) grid points
    amwc_layer=dict(type='AMWCLayer', min_instance_area=3),
    loss_pq=dict(
        type='PQSurrogateLoss',
        thing_min_area=50,
        stuff_min_area=128,
        loss_weight=10.0))

# The original's stage-2 targets (fully_differentiable yaml): instance and
# small-instance weights 1, so the boundary weights that mask the solver's
# edge gradients are 0 / 1.
train_pipeline = [
    dict(t, small_instance_weight=1.0, instance_boundary_weight=1.0)
    if t.type == 'GenerateCOPSTargets' else t for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=6, dataset=dict(pipeline=train_pipeline))
