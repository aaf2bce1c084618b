# Stage-1 (pretrain) schedule of COPS, as the original's pretrain yaml files
# with detectron2's WarmupPolyLR: Adam, lr 1e-4, no weight decay, 50k
# iterations, linear warm-up from 1/1000 over the first 1000 (detectron2's
# default, not overridden there) times poly decay (power 0.9) from 0 to 50k.
max_iters = 50000
val_interval = 5000

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, begin=0, end=1000,
        by_epoch=False),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Stage 1 does not use the AMWC cost head (its scalars are trained in stage
# 2), so distributed runs must let DDP skip its parameters.
find_unused_parameters = True
