# COPS stage 2 on the embedded synthetic data with the paper's protocol
# (PQ loss only; backbone, decoders and batch norms frozen; heads at the
# reduced lrs; the original's extended labels), for a converged stage 1:
# the checkpoint of cops_r18_synthetic_pretrain_long.py.
# docs/experiments.md compares it with variants and with more stage 1.
_base_ = './_base_/synthetic_cops_r18_end_to_end.py'

pretrain_config = 'configs/cops_r18_synthetic_pretrain_long.py'
load_from = 'work_dirs/cops_r18_synthetic_pretrain_long/iter_3000.pth'
