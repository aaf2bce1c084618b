# Stage-2 (end-to-end) schedule of COPS, as the original's
# fully_differentiable yaml files with detectron2's WarmupPolyLR: Adam,
# lr 1e-3 (Cityscapes; COCO sets 1e-4), no weight decay, 20k iterations,
# linear warm-up from 1/1000 over the first 500 times poly decay (power 0.9)
# from 0 to 20k; the original's total batch of 24. The heads train at
# reduced lrs (the original's train_net.py: Trainer.build_optimizer), the
# AMWC cost scalars at the full lr.
_base_ = './pretrain_adam_poly_50k.py'

max_iters = 20000
warmup_iters = 500

optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(
        custom_keys={
            'semantic_head.convs': dict(lr_mult=1 / 40),
            'semantic_head.conv_seg': dict(lr_mult=1 / 20),
            'affinity_head.convs': dict(lr_mult=1 / 40),
            'affinity_head.classifiers': dict(lr_mult=1 / 20),
        }))
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(_base_.param_scheduler[1], end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
auto_scale_lr = dict(enable=False, base_batch_size=24)
