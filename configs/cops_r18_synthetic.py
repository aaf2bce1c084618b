# COPS stage 2 on the embedded synthetic data (make demo) with the paper's
# protocol (arXiv 2106.03188, Sec. 5, as configs/cops_r50_*.py): from the
# stage-1 checkpoint, PQ surrogate loss only, backbone, decoders and batch
# norms frozen, heads at the reduced lrs of the end-to-end schedule, AMWC
# inputs with dropout 0.1; shrunk for a CPU (200 iterations, batch 8). It
# beats the demo's former departures (whole network, stage-1 losses kept:
# cops_r18_synthetic_unfrozen.py) also after the demo's short stage 1
# (docs/experiments.md).
_base_ = [
    './_base_/synthetic_cops_r18.py',
    './_base_/schedules/end_to_end_adam_poly_20k.py'
]

# stage-1 checkpoint; tools/train.py stops at once when it is missing and
# names the command that writes it (python tools/train.py pretrain_config)
pretrain_config = 'configs/cops_r18_synthetic_pretrain.py'
load_from = 'work_dirs/cops_r18_synthetic_pretrain/iter_500.pth'
max_iters = 200
warmup_iters = 20

model = dict(
    type='COPSEndToEnd',
    # 2 grid points = the 32 px of test_cfg.instance_min_area at stride 4
    amwc_layer=dict(
        type='AMWCLayer',
        min_instance_area=2,
        # deliberate, measured (docs/faithfulness.md): the MWC baseline
        baseline='mwc'),
    # areas in points of the 32 x 32 output grid
    loss_pq=dict(
        type='PQSurrogateLoss',
        thing_min_area=2,
        stuff_min_area=4,
        loss_weight=30.0))

param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(_base_.param_scheduler[1], begin=warmup_iters, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
