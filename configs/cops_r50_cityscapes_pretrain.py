# COPS stage 1 on Cityscapes (arXiv 2106.03188, Sec. 5): semantic CE with
# hard-pixel mining + boundary BCE, Adam lr 1e-4 with warm-up and poly
# decay, 50k iterations, 512 x 1024 crops, BN.
# Batch: 3 images per process; `tools/dist_train.sh
# configs/cops_r50_cityscapes_pretrain.py 4` trains with the original's
# total of 12 (with N processes set train_dataloader.batch_size=12/N).
_base_ = [
    './_base_/cityscapes_cops_r50.py',
    './_base_/schedules/pretrain_adam_poly_50k.py'
]

train_dataloader = dict(batch_size=3)
auto_scale_lr = dict(enable=False, base_batch_size=12)
