# COPS stage 1 on COCO panoptic (arXiv 2106.03188, Sec. 5): semantic CE on
# all pixels + boundary BCE, Adam lr 1e-4 with warm-up and poly decay, 50k
# iterations, 640 x 640 crops, SyncBN.
# Batch: 12 images per process; `tools/dist_train.sh
# configs/cops_r50_coco_pretrain.py 4` trains with the original's total of
# 48 (with N processes set train_dataloader.batch_size=48/N).
_base_ = [
    './_base_/coco_cops_r50.py',
    './_base_/schedules/pretrain_adam_poly_50k.py'
]

train_dataloader = dict(batch_size=12)
auto_scale_lr = dict(enable=False, base_batch_size=48)
