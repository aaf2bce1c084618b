# COPS stage 2 on the embedded synthetic data (the paper's protocol, as
# cops_r18_synthetic.py) from a converged stage 1: the checkpoint of
# cops_r18_synthetic_pretrain_long.py. docs/experiments.md compares it with
# variants and with more stage 1.
_base_ = './cops_r18_synthetic.py'

pretrain_config = 'configs/cops_r18_synthetic_pretrain_long.py'
load_from = 'work_dirs/cops_r18_synthetic_pretrain_long/iter_3000.pth'
