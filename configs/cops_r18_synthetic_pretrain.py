# COPS stage 1 (pretraining of the semantic and affinity heads) on the
# embedded synthetic data, sized for a CPU demo (make demo): 500
# iterations at lr 1e-3 with poly decay, no warm-up.
_base_ = [
    './_base_/synthetic_cops_r18.py',
    './_base_/schedules/pretrain_adam_poly_50k.py'
]

max_iters = 500

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(_base_.param_scheduler[1], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
