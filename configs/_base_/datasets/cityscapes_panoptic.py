# Cityscapes panoptic (19 classes, 8 things), converted to COCO panoptic
# format by tools/dataset_converters/cityscapes.py. The original's settings
# (Cityscapes base_panoptic_affinity_pretrain.yaml): the short side of the
# 1024x2048 images resized to one of 16 sizes from 512 to 2048 (long side at
# most 4096), random 512x1024 crop and flip for training; full resolution
# for testing.
# The dataset class is the project's, registered by the custom_imports of
# _base_/default_runtime.py; loaders, samplers, test pipeline and evaluators
# from cops_panoptic.py.
_base_ = './cops_panoptic.py'

dataset_type = 'CityscapesPanopticDataset'
data_root = 'data/cityscapes/'

train_pipeline = [
    *_base_.train_pipeline,
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
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cityscapes_panoptic_train.json',
        data_prefix=dict(
            img='leftImg8bit/train/',
            seg='annotations/cityscapes_panoptic_train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cityscapes_panoptic_val.json',
        data_prefix=dict(
            img='leftImg8bit/val/',
            seg='annotations/cityscapes_panoptic_val/')))
test_dataloader = val_dataloader

# the instance AP against the COCO instances JSON that
# tools/dataset_converters/cityscapes.py writes
val_evaluator = dict(
    ann_file=data_root + 'annotations/cityscapes_panoptic_val.json',
    seg_prefix=data_root + 'annotations/cityscapes_panoptic_val/')
test_evaluator = [
    dict(t, **val_evaluator) if t.type == 'COPSPanopticMetric' else
    dict(t, ann_file=data_root + 'annotations/cityscapes_instances_val.json')
    if t.type == 'CocoMetric' else t for t in _base_.test_evaluator
]
