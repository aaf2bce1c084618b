# COCO panoptic (133 classes, 80 things) with mmdet's CocoPanopticDataset,
# standard paths (data/coco/annotations/panoptic_{train,val}2017.json,
# annotations/panoptic_{train,val}2017/, {train,val}2017/) and evaluator
# from mmdet's base. The original's settings (COCO
# base_panoptic_affinity_pretrain.yaml): short side resized to 320..960
# (step 64) with the long side at most 960, random 640x640 crop and flip for
# training; testing with the long side resized to 640. The COCO model
# configs pad each batch to a multiple of 640 (data_preprocessor).
_base_ = 'mmdet::_base_/datasets/coco_panoptic.py'

backend_args = None

train_pipeline = [
    dict(type='LoadCheckedImageFromFile', backend_args=backend_args),
    dict(type='LoadCheckedPanopticAnnotations', backend_args=backend_args),
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
# mmcv's LoadImageFromFile (not the checked one) at test time: mmdet's
# DetInferencer swaps exactly this step for its in-memory image loader.
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(640, 640), keep_ratio=True),
    dict(type='LoadCheckedPanopticAnnotations', backend_args=backend_args),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

# CheckedCocoPanopticDataset: mmdet's dataset that checks the annotation file
# (category ids, files) when loading it; the Checked loaders check each file.
# Every training image is kept (filter_cfg=None), as the original.
train_dataloader = dict(
    dataset=dict(
        type='CheckedCocoPanopticDataset',
        filter_cfg=None,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type='CheckedCocoPanopticDataset', pipeline=test_pipeline))
test_dataloader = val_dataloader

# validation while training: mmdet's PQ evaluator; tools/test.py adds the
# per-class PQ table, semantic mIoU, segm AP of the COPS instances (against
# COCO's annotations/instances_val2017.json) and the seconds per image of the
# network and the solver
val_evaluator = dict(type='CopsPanopticMetric')  # outputs left intact
test_evaluator = [
    dict(_base_.val_evaluator, type='CopsPanopticMetric', classwise=True),
    dict(type='CopsSemSegMetric', iou_metrics=['mIoU'], prefix='sem_seg'),
    dict(
        type='CocoMetric',
        ann_file=_base_.data_root + 'annotations/instances_val2017.json',
        metric='segm',
        backend_args=backend_args),
    dict(type='InferenceTimeMetric')
]
