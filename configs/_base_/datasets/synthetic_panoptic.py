# dataset settings: the embedded synthetic panoptic data (3 thing + 3 stuff
# classes, 128 x 128 images), written by
#   python tools/dataset_converters/make_synthetic_panoptic.py \
#       --out data/synthetic
# (the project's modules are registered by default_runtime's custom_imports;
# loaders, samplers, test pipeline and evaluators from cops_panoptic.py)
_base_ = './cops_panoptic.py'

dataset_type = 'SyntheticPanopticDataset'
data_root = 'data/synthetic/'
image_size = (128, 128)

train_pipeline = [
    *_base_.train_pipeline,
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
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/panoptic_train.json',
        data_prefix=dict(img='train/', seg='annotations/panoptic_train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/panoptic_val.json',
        data_prefix=dict(img='val/', seg='annotations/panoptic_val/')))
test_dataloader = val_dataloader

# the generator writes the COCO instances JSON of the instance AP
val_evaluator = dict(
    ann_file=data_root + 'annotations/panoptic_val.json',
    seg_prefix=data_root + 'annotations/panoptic_val/')
test_evaluator = [
    dict(t, **val_evaluator) if t.type == 'COPSPanopticMetric' else
    dict(t, ann_file=data_root + 'annotations/instances_val.json')
    if t.type == 'CocoMetric' else t for t in _base_.test_evaluator
]
