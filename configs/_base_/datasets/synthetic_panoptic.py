# dataset settings: the embedded synthetic panoptic data (3 thing + 3 stuff
# classes, 128 x 128 images), written by
#   python tools/dataset_converters/make_synthetic_panoptic.py \
#       --out data/synthetic
# (the project's modules are registered by default_runtime's custom_imports;
# loaders and samplers are mmdet's coco_panoptic)
_base_ = 'mmdet::_base_/datasets/coco_panoptic.py'

dataset_type = 'SyntheticPanopticDataset'
data_root = 'data/synthetic/'
image_size = (128, 128)
backend_args = None

train_pipeline = [
    dict(type='LoadCheckedImageFromFile', backend_args=backend_args),
    dict(type='LoadCheckedPanopticAnnotations', backend_args=backend_args),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomResize',
        scale=image_size,
        ratio_range=(0.8, 1.25),
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_size=image_size,
        crop_type='absolute',
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=0, seg=255)),
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

train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/panoptic_train.json',
        data_prefix=dict(img='train/', seg='annotations/panoptic_train/'),
        filter_cfg=None,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/panoptic_val.json',
        data_prefix=dict(img='val/', seg='annotations/panoptic_val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# validation while training: PQ only; tools/test.py adds the per-class PQ
# table, semantic mIoU (pred_sem_seg), instance-segmentation AP of the COPS
# masks and scores (pred_instances; the generator writes the COCO instances
# JSON) and the seconds per image of the network and the solver
val_evaluator = dict(
    type='CopsPanopticMetric',  # mmdet's PQ, outputs left intact
    ann_file=data_root + 'annotations/panoptic_val.json',
    seg_prefix=data_root + 'annotations/panoptic_val/',
    backend_args=backend_args)
test_evaluator = [
    dict(val_evaluator, classwise=True),
    dict(type='CopsSemSegMetric', iou_metrics=['mIoU'], prefix='sem_seg'),
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/instances_val.json',
        metric='segm',
        backend_args=backend_args),
    dict(type='InferenceTimeMetric')
]
