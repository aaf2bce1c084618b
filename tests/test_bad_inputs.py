"""Bad input gives a clear error naming the file / key / value (or, where
documented, a warned skip), never a deep crash or a silent wrong result."""
import json
import os.path as osp
import shutil

import mmcv
import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from panopticapi.utils import id2rgb, rgb2id
from tool_runs import shrunk_config

import projects.cops  # noqa: F401
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import DATASETS, MODELS, TRANSFORMS
from mmdet.structures import DetDataSample

SPLIT = 'val'
ANN_FILE = f'annotations/panoptic_{SPLIT}.json'
PNG_DIR = f'annotations/panoptic_{SPLIT}/'
LOADERS = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedPanopticAnnotations')
]


@pytest.fixture
def data_root(synthetic_root, tmp_path):
    """A private copy of the synthetic data, free to break."""
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_root, root)
    return root


def load_json(root):
    with open(osp.join(root, ANN_FILE)) as f:
        return json.load(f)


def save_json(root, coco):
    with open(osp.join(root, ANN_FILE), 'w') as f:
        json.dump(coco, f)


def build_dataset(root, pipeline=LOADERS, test_mode=True, **loader_args):
    init_default_scope('mmdet')
    pipeline = [dict(step) for step in pipeline]
    for step in pipeline:
        step.update(loader_args.get(step['type'], {}))
    return DATASETS.build(
        dict(
            type='SyntheticPanopticDataset',
            data_root=root,
            ann_file=ANN_FILE,
            data_prefix=dict(img=f'{SPLIT}/', seg=PNG_DIR),
            filter_cfg=dict(filter_empty_gt=False),
            test_mode=test_mode,
            pipeline=pipeline))


def first_image(root):
    coco = load_json(root)
    return coco, coco['annotations'][0]


def test_valid_data_loads_like_mmdet(data_root):
    """The checked loaders give exactly mmdet's results on valid data."""
    checked = build_dataset(data_root)[0]
    plain = build_dataset(
        data_root,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadPanopticAnnotations')
        ])[0]
    assert np.array_equal(checked['img'], plain['img'])
    assert checked['gt_seg_map'].dtype == plain['gt_seg_map'].dtype
    assert np.array_equal(checked['gt_seg_map'], plain['gt_seg_map'])
    assert np.array_equal(checked['gt_masks'].masks, plain['gt_masks'].masks)


def test_corrupted_image_names_the_file(data_root):
    _, annotation = first_image(data_root)
    path = osp.join(data_root, SPLIT, annotation['file_name'])
    with open(path, 'r+b') as f:
        f.truncate(100)
    dataset = build_dataset(data_root)
    with pytest.raises(ValueError, match=f'cannot decode image file {path}'):
        dataset[0]


def test_corrupted_image_skipped_with_warning_when_asked(data_root, caplog):
    _, annotation = first_image(data_root)
    path = osp.join(data_root, SPLIT, annotation['file_name'])
    with open(path, 'wb') as f:
        f.write(b'not an image')
    dataset = build_dataset(
        data_root,
        test_mode=False,
        LoadCheckedImageFromFile=dict(ignore_empty=True))
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        sample = dataset[0]
    finally:
        logger.removeHandler(caplog.handler)
    # the training dataset drew another, readable image instead
    assert sample['img_path'] != path
    assert f'skipped: cannot decode image file {path}' in caplog.text


def test_missing_image_fails_when_the_dataset_is_built(data_root):
    _, annotation = first_image(data_root)
    path = osp.join(data_root, SPLIT, annotation['file_name'])
    shutil.move(path, path + '.moved')
    with pytest.raises(
            FileNotFoundError,
            match=f'panoptic_{SPLIT}.json: img_path of image id '
            f'{annotation["image_id"]} not found: {path}'):
        build_dataset(data_root)
    # and the loader itself names a file that vanishes later
    loader = TRANSFORMS.build(dict(type='LoadCheckedImageFromFile'))
    with pytest.raises(FileNotFoundError, match=f'not found: {path}'):
        loader.transform(dict(img_path=path))


def test_png_segment_missing_from_json(data_root):
    coco, annotation = first_image(data_root)
    dropped = annotation['segments_info'].pop()
    save_json(data_root, coco)
    png = osp.join(data_root, PNG_DIR, annotation['file_name'])
    with pytest.raises(
            ValueError,
            match=rf'panoptic PNG {png}: ids \[{dropped["id"]}\] are in the '
            'PNG but not in the JSON'):
        build_dataset(data_root)[0]
    # the documented alternative: warn and keep those pixels void
    results = build_dataset(
        data_root, LoadCheckedPanopticAnnotations=dict(on_mismatch='void'))[0]
    pan_ids = rgb2id(mmcv.imread(png, channel_order='rgb'))
    assert (results['gt_seg_map'][pan_ids == dropped['id']] == 255).all()


def test_json_segment_missing_from_png(data_root):
    coco, annotation = first_image(data_root)
    segment = annotation['segments_info'][0]
    png = osp.join(data_root, PNG_DIR, annotation['file_name'])
    pan_ids = rgb2id(mmcv.imread(png, channel_order='rgb'))
    pan_ids[pan_ids == segment['id']] = 0
    mmcv.imwrite(id2rgb(pan_ids)[..., ::-1], png)  # BGR file order
    with pytest.raises(
            ValueError,
            match=rf'JSON segments \[{segment["id"]}\] have no pixel'):
        build_dataset(data_root)[0]


def test_category_id_not_in_metainfo(data_root):
    coco, annotation = first_image(data_root)
    segment = annotation['segments_info'][1]
    segment['category_id'] = 99
    save_json(data_root, coco)
    with pytest.raises(
            ValueError,
            match=f'segment {segment["id"]} of image '
            f"'{annotation['file_name']}' has category_id 99, which is not "
            'a class of SyntheticPanopticDataset'):
        build_dataset(data_root)


def test_image_without_segments_is_all_void_and_trains_on_nothing(
        data_root, synthetic_root):
    coco, annotation = first_image(data_root)
    annotation['segments_info'] = []
    save_json(data_root, coco)
    png = osp.join(data_root, PNG_DIR, annotation['file_name'])
    height, width = mmcv.imread(png).shape[:2]
    mmcv.imwrite(np.zeros((height, width, 3), np.uint8), png)

    cfg = shrunk_config(synthetic_root, max_iters=1, checkpoint_interval=1)
    pipeline = [
        step for step in cfg.train_dataloader.dataset.pipeline
        if not step['type'].startswith('Random')
    ]
    pipeline[:2] = LOADERS
    results = build_dataset(data_root, pipeline=pipeline, test_mode=True)[0]
    sample = results['data_samples']
    assert (sample.gt_sem_seg.sem_seg == 255).all()
    assert len(sample.gt_instances) == 0
    assert (sample.gt_cops_targets.sem_seg == 255).all()
    assert (sample.gt_cops_targets.boundary_weights == 0).all()

    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(
        dict(inputs=[results['inputs']] * 2, data_samples=[sample] * 2), True)
    losses = model(**batch, mode='loss')
    for name, loss in losses.items():
        assert loss.item() == 0, name
    sum(losses.values()).backward()
    assert all(
        torch.isfinite(param.grad).all() for param in model.parameters()
        if param.grad is not None)


def test_unknown_type_in_config_names_type_and_registry(synthetic_root):
    cfg = shrunk_config(synthetic_root, max_iters=1, checkpoint_interval=1)
    init_default_scope('mmdet')
    cfg.model.semantic_head.loss_sem.type = 'HardPixelCELos'
    with pytest.raises(
            KeyError,
            match='HardPixelCELos is not in the mmdet::model '
            'registry'):
        MODELS.build(cfg.model)
    cfg = shrunk_config(synthetic_root, max_iters=1, checkpoint_interval=1)
    cfg.model.semantic_head.num_clases = 6
    with pytest.raises(
            TypeError,
            match="COPSSemanticHead.*unexpected keyword argument "
            "'num_clases'"):
        MODELS.build(cfg.model)


def tiny_images(*sizes):
    inputs, samples = [], []
    for height, width in sizes:
        inputs.append(
            torch.randint(0, 256, (3, height, width), dtype=torch.uint8))
        samples.append(
            DetDataSample(
                metainfo=dict(
                    img_shape=(height, width),
                    ori_shape=(height, width),
                    scale_factor=(1., 1.))))
    return dict(inputs=inputs, data_samples=samples)


def test_nan_costs_reaching_the_solver(synthetic_root):
    cfg = shrunk_config(synthetic_root, max_iters=1, checkpoint_interval=1)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        next(model.semantic_head.parameters()).fill_(float('nan'))
    with pytest.raises(ValueError, match='node_costs must be finite'):
        model.test_step(tiny_images((32, 32)))


@pytest.mark.parametrize('size', [(1, 1), (3, 5), (8, 8), (13, 2)])
def test_images_smaller_than_the_network_stride(synthetic_root, size):
    """No minimum size: the data preprocessor pads to ``pad_size_divisor``
    and the grid has ceil(size / output_stride) points, so tiny images give a
    full-size panoptic map of valid ids (stuff, void, or a thing instance
    when its cluster passes ``instance_min_area``)."""
    cfg = shrunk_config(synthetic_root, max_iters=1, checkpoint_interval=1)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    sample = model.test_step(tiny_images(size))[0]
    pan_seg = sample.pred_panoptic_seg.sem_seg
    assert pan_seg.shape == (1, ) + size
    assert sample.pred_sem_seg.sem_seg.shape == (1, ) + size
    classes = pan_seg % INSTANCE_OFFSET
    instances = pan_seg // INSTANCE_OFFSET
    assert ((classes >= 0) & (classes <= model.num_classes)).all()
    thing = classes < model.num_things_classes
    assert (instances[~thing] == 0).all() and (instances[thing] > 0).all()
