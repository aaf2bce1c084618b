# COCO panoptic (133 classes, 80 things) with mmdet's CocoPanopticDataset
# and standard paths (data/coco/annotations/panoptic_{train,val}2017.json,
# annotations/panoptic_{train,val}2017/, {train,val}2017/) from mmdet's base;
# the evaluators from cops_panoptic.py. The original's settings (COCO
# base_panoptic_affinity_pretrain.yaml): short side resized to 320..960
# (step 64) with the long side at most 960, random 640x640 crop and flip for
# training; testing with the long side resized to 640. The COCO model
# configs pad each batch to a multiple of 640 (data_preprocessor).
_base_ = './cops_panoptic.py'

train_pipeline = [
    *_base_.train_pipeline,
    dict(
        type='RandomChoiceResize',
        scales=[(960, 320), (960, 384), (960, 448), (960, 512), (960, 576),
                (960, 640), (960, 704), (960, 768), (960, 832), (960, 896),
                (960, 960)],
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_size=(640, 640),
        crop_type='absolute',
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# the long side resized to 640 after loading the image
test_pipeline = [
    _base_.test_pipeline[0],
    dict(type='Resize', scale=(640, 640), keep_ratio=True),
    *_base_.test_pipeline[1:]
]

# CheckedCocoPanopticDataset: mmdet's dataset that checks the annotation file
# (category ids, files) when loading it; the Checked loaders check each file.
train_dataloader = dict(
    dataset=dict(type='CheckedCocoPanopticDataset', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type='CheckedCocoPanopticDataset', pipeline=test_pipeline))
test_dataloader = val_dataloader
