# COPS stage 1 on the embedded synthetic data trained to a plateau: the
# start of the stage-2 study in docs/experiments.md (the paper fine-tunes a
# converged stage 1). Same model, data and lr as the demo's stage 1, six
# times the iterations, validated every 300 for the curve.
_base_ = './cops_r18_synthetic_pretrain.py'

max_iters = 3000

param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=300)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=300, max_keep_ckpts=2))
