# Stage-2 (end-to-end) schedule of COPS, as the original's
# fully_differentiable yaml files with detectron2's WarmupPolyLR: Adam,
# lr 1e-3 (Cityscapes; COCO sets 1e-4), no weight decay, 20k iterations,
# linear warm-up from 1/1000 over the first 500 times poly decay (power 0.9)
# from 0 to 20k; the original's total batch of 24. The heads train at
# reduced lrs as the original's train_net.py (Trainer.build_optimizer
# divides the lr by 20 per layer group counted back from the solver):
# semantic head convs 1/40, predictor 1/20; affinity head convs 1/60, the
# two 3x3 convs of each offset's classifier 1/40, its 1x1 conv (index 2)
# 1/20; the AMWC cost scalars at the full lr.
_base_ = './pretrain_adam_poly_50k.py'

max_iters = 20000
warmup_iters = 500

optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(
        custom_keys={
            'semantic_head.convs': dict(lr_mult=1 / 40),
            'semantic_head.conv_seg': dict(lr_mult=1 / 20),
            'affinity_head.convs': dict(lr_mult=1 / 60),
            'affinity_head.classifiers': dict(lr_mult=1 / 40),
            **{  # up to 5 offsets (Cityscapes)
                f'affinity_head.classifiers.{offset}.2': dict(lr_mult=1 / 20)
                for offset in range(5)
            },
        }))
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(_base_.param_scheduler[1], end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
auto_scale_lr = dict(enable=False, base_batch_size=24)
