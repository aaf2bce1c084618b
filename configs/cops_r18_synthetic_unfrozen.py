# COPS stage 2 on the embedded synthetic data with three departures from
# the paper's protocol, once the demo's setting for its unconverged stage 1:
# the whole network trains at one lr (1e-3), the stage-1 losses stay on
# beside the PQ loss, and the backward has a plain label per thing class.
# Measured against cops_r18_synthetic.py and more stage 1 in
# docs/experiments.md: it loses to both.
_base_ = './cops_r18_synthetic.py'

model = dict(
    amwc_layer=dict(plain_thing_labels=True),
    keep_pretrain_losses=True,
    frozen_modules=(),
    freeze_norm=False)
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
