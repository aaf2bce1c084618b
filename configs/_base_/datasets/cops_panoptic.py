# What the project's panoptic datasets share, on top of mmdet's coco_panoptic
# base (loaders, samplers, COCO paths): the checked loaders, every training
# image kept (filter_cfg=None, as the original), the test pipeline and the
# evaluators. cityscapes_panoptic.py,
# coco_panoptic.py and synthetic_panoptic.py add their files and
# augmentations.
_base_ = 'mmdet::_base_/datasets/coco_panoptic.py'

backend_args = None

# the loaders that check each file; the datasets append their augmentations
train_pipeline = [
    dict(type='LoadCheckedImageFromFile', backend_args=backend_args),
    dict(type='LoadCheckedPanopticAnnotations', backend_args=backend_args)
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

train_dataloader = dict(dataset=dict(filter_cfg=None))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# validation while training: PQ only (mmdet's, outputs left intact);
# tools/test.py adds the per-class PQ table, semantic mIoU (pred_sem_seg),
# segm AP of the COPS instances (pred_instances, against the dataset's COCO
# instances JSON) and the seconds per image of the network and the solver.
# The paths are COCO's; the other datasets replace them.
val_evaluator = dict(type='COPSPanopticMetric')
test_evaluator = [
    dict(_base_.val_evaluator, type='COPSPanopticMetric', classwise=True),
    dict(type='COPSSemSegMetric', iou_metrics=['mIoU'], prefix='sem_seg'),
    dict(
        type='CocoMetric',
        ann_file=_base_.data_root + 'annotations/instances_val2017.json',
        metric='segm',
        backend_args=backend_args),
    dict(type='InferenceTimeMetric')
]
