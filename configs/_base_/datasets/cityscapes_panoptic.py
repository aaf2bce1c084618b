# Cityscapes panoptic (19 classes, 8 things), converted to COCO panoptic
# format by tools/dataset_converters/cityscapes.py. The original's settings
# (Cityscapes base_panoptic_affinity_pretrain.yaml): the short side of the
# 1024x2048 images resized to one of 16 sizes from 512 to 2048 (long side at
# most 4096), random 512x1024 crop and flip for training; full resolution
# for testing.
# The dataset class is the project's, registered by the custom_imports of
# _base_/default_runtime.py; loaders and samplers are mmdet's coco_panoptic.
_base_ = 'mmdet::_base_/datasets/coco_panoptic.py'

dataset_type = 'CityscapesPanopticDataset'
data_root = 'data/cityscapes/'
backend_args = None

train_pipeline = [
    dict(type='LoadCheckedImageFromFile', backend_args=backend_args),
    dict(type='LoadCheckedPanopticAnnotations', backend_args=backend_args),
    dict(
        type='RandomChoiceResize',
        scales=[(4096, short) for short in (512, 640, 704, 832, 896, 1024,
                                            1152, 1216, 1344, 1408, 1536,
                                            1664, 1728, 1856, 1920, 2048)],
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_size=(1024, 512),  # (width, height) in mmdet
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
    dict(type='LoadCheckedPanopticAnnotations', backend_args=backend_args),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

# every training image is kept (filter_cfg=None), as the original
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cityscapes_panoptic_train.json',
        data_prefix=dict(
            img='leftImg8bit/train/',
            seg='annotations/cityscapes_panoptic_train/'),
        filter_cfg=None,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cityscapes_panoptic_val.json',
        data_prefix=dict(
            img='leftImg8bit/val/',
            seg='annotations/cityscapes_panoptic_val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# validation while training: PQ only; tools/test.py adds the per-class PQ
# table, semantic mIoU, segm AP of the COPS instances (against the COCO
# instances JSON that tools/dataset_converters/cityscapes.py writes) and the
# seconds per image of the network and the solver
val_evaluator = dict(
    type='CopsPanopticMetric',  # mmdet's PQ, outputs left intact
    ann_file=data_root + 'annotations/cityscapes_panoptic_val.json',
    seg_prefix=data_root + 'annotations/cityscapes_panoptic_val/',
    backend_args=backend_args)
test_evaluator = [
    dict(val_evaluator, classwise=True),
    dict(type='CopsSemSegMetric', iou_metrics=['mIoU'], prefix='sem_seg'),
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/cityscapes_instances_val.json',
        metric='segm',
        backend_args=backend_args),
    dict(type='InferenceTimeMetric')
]
