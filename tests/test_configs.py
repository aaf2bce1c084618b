"""Every shipped config keeps the reliability pieces: the hooks for exact
resume, distributed logging and non-finite losses, and the checked data
loaders."""
import os.path as osp
from glob import glob

import pytest
from mmdet.registry import METRICS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tool_runs import REPO

import projects.cops  # noqa: F401  (registers the project's modules)

CONFIGS = sorted(glob(osp.join(REPO, 'configs', '*.py')))


def test_configs_found():
    assert len(CONFIGS) >= 2


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_keeps_reliability_hooks_and_checked_loaders(path):
    cfg = Config.fromfile(path)
    hooks = {hook['type'] for hook in cfg.get('custom_hooks', [])}
    assert {'IterationSeedHook', 'RankMeanLogVarsHook',
            'FiniteLossHook'} <= hooks, path
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader']['dataset']
        steps = {step['type'] for step in dataset['pipeline']}
        assert 'LoadPanopticAnnotations' not in steps, (split, steps)
        assert 'LoadCheckedPanopticAnnotations' in steps, (split, steps)
        # test pipelines keep mmcv's image loader for mmdet's DetInferencer
        image_loader = 'LoadCheckedImageFromFile' if split == 'train' \
            else 'LoadImageFromFile'
        assert image_loader in steps, (split, steps)
        assert dataset['type'] != 'CocoPanopticDataset', split


# The original's stage-2 foreground areas (affinityNet/panoptic_affinity:
# config.py and the fully_differentiable yaml files): in training,
# PanopticAffinityAMWC.compute_foreground_probabilities divides INSTANCE_AREA
# by TARGET_DOWNSAMPLING and STUFF_AREA by TARGET_DOWNSAMPLING and by
# STUFF_AREA_DOWNSAMPLING_FACTOR_TRAIN, areas counted in grid points.
ORIGINAL_INSTANCE_AREA = 200
ORIGINAL_STUFF_AREA = {'cityscapes': 2048, 'coco': 4096}
ORIGINAL_TARGET_DOWNSAMPLING = 4
ORIGINAL_STUFF_AREA_DOWNSAMPLING_FACTOR_TRAIN = 4


@pytest.mark.parametrize('dataset', sorted(ORIGINAL_STUFF_AREA))
def test_stage2_foreground_areas_follow_the_original_formula(dataset):
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'cops_r50_{dataset}.py'))
    loss_pq = cfg.model.loss_pq
    assert loss_pq.thing_min_area == (
        ORIGINAL_INSTANCE_AREA / ORIGINAL_TARGET_DOWNSAMPLING)
    assert loss_pq.stuff_min_area == (
        ORIGINAL_STUFF_AREA[dataset] / ORIGINAL_TARGET_DOWNSAMPLING /
        ORIGINAL_STUFF_AREA_DOWNSAMPLING_FACTOR_TRAIN)
    # at test time the original keeps the full-resolution pixel areas
    assert cfg.model.test_cfg.instance_min_area == ORIGINAL_INSTANCE_AREA
    assert cfg.model.test_cfg.stuff_min_area == ORIGINAL_STUFF_AREA[dataset]


# The original's totals (IMS_PER_BATCH of the pretrain and
# fully_differentiable yaml files); the documented command is
# `tools/dist_train.sh CONFIG 4`.
ORIGINAL_TOTAL_BATCH = {
    'cityscapes_pretrain': 12,
    'cityscapes': 24,
    'coco_pretrain': 48,
    'coco': 24
}
DOCUMENTED_PROCESSES = 4


@pytest.mark.parametrize('name', sorted(ORIGINAL_TOTAL_BATCH))
def test_documented_command_trains_with_the_original_batch(name):
    path = osp.join(REPO, 'configs', f'cops_r50_{name}.py')
    cfg = Config.fromfile(path)
    total = ORIGINAL_TOTAL_BATCH[name]
    per_process = cfg.train_dataloader.batch_size
    assert per_process * DOCUMENTED_PROCESSES == total
    assert cfg.auto_scale_lr.base_batch_size == total
    # the config's header states both numbers and the command
    header = open(path).read().split('\n_base_')[0].replace('\n# ', ' ')
    assert f'{per_process} images per process' in header
    assert f'total of {total}' in header
    assert f'tools/dist_train.sh configs/cops_r50_{name}.py 4' in header


@pytest.mark.parametrize('name', ['cityscapes_pretrain', 'coco_pretrain'])
def test_stage1_schedule_is_detectron2_warmup_poly(name):
    """detectron2's WarmupPolyLR with its default warm-up (the original's
    pretrain yaml files set no WARMUP_ITERS): linear from 1/1000 over 1000
    iterations, times poly (power 0.9) over all 50k iterations."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'cops_r50_{name}.py'))
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.begin,
            warmup.end) == ('LinearLR', 1e-3, 0, 1000)
    assert (poly.type, poly.power, poly.begin, poly.end) == ('PolyLR', 0.9,
                                                             0, 50000)
    assert cfg.train_cfg.max_iters == 50000


def _train_step(cfg, step_type):
    steps = [s for s in cfg.train_dataloader.dataset.pipeline
             if s.type == step_type]
    assert len(steps) == 1, step_type
    return steps[0]


def test_coco_settings_follow_the_original_yaml():
    """COCO base_panoptic_affinity_pretrain.yaml: semantic top-k 1.0, short
    side int(x * 0.1 * 640) for x in 5..15, SIZE_DIVISIBILITY 640;
    fully_differentiable.yaml: short side for x in 7..12."""
    pretrain = Config.fromfile(
        osp.join(REPO, 'configs', 'cops_r50_coco_pretrain.py'))
    stage2 = Config.fromfile(osp.join(REPO, 'configs', 'cops_r50_coco.py'))
    assert pretrain.model.semantic_head.loss_sem.top_k_ratio == 1.0
    for cfg, first, last in ((pretrain, 5, 15), (stage2, 7, 12)):
        assert cfg.model.data_preprocessor.pad_size_divisor == 640
        resize = _train_step(cfg, 'RandomChoiceResize')
        assert resize.scales == [(960, int(x * 0.1 * 640))
                                 for x in range(first, last + 1)]
        assert _train_step(cfg, 'RandomCrop').crop_size == (640, 640)


def test_cityscapes_scales_follow_the_original_yaml():
    short_sides = (512, 640, 704, 832, 896, 1024, 1152, 1216, 1344, 1408,
                   1536, 1664, 1728, 1856, 1920, 2048)
    for name in ('cityscapes_pretrain', 'cityscapes'):
        cfg = Config.fromfile(osp.join(REPO, 'configs', f'cops_r50_{name}.py'))
        resize = _train_step(cfg, 'RandomChoiceResize')
        assert resize.scales == [(4096, s) for s in short_sides]
        assert _train_step(cfg, 'RandomCrop').crop_size == (1024, 512)


@pytest.mark.parametrize('dataset', sorted(ORIGINAL_STUFF_AREA))
def test_stage2_targets_weigh_instances_as_the_original(dataset):
    """fully_differentiable yaml: INSTANCE_LOSS_WEIGHT 1, SMALL_INSTANCE_WEIGHT
    1 (stage 1: 4 and 3)."""
    from mmdet.registry import TRANSFORMS

    import projects.cops  # noqa: F401
    for name, weights in ((dataset, (1.0, 1.0)),
                          (f'{dataset}_pretrain', (4.0, 3.0))):
        cfg = Config.fromfile(osp.join(REPO, 'configs', f'cops_r50_{name}.py'))
        targets = TRANSFORMS.build(_train_step(cfg, 'GenerateCOPSTargets'))
        assert (targets.instance_boundary_weight,
                targets.small_instance_weight) == weights
        assert targets.small_instance_area == 4096
        assert targets.stride == cfg.model.get('output_stride', 4)
@pytest.mark.parametrize('dataset', sorted(ORIGINAL_STUFF_AREA))
def test_stage2_needs_no_imagenet_file(dataset):
    """Stage 2 takes every weight from ``load_from``: its backbone has no
    ``init_cfg``, so a user without the ImageNet file (e.g. fine-tuning a
    converted release) can train it; stage 1 keeps the file."""
    stage2 = Config.fromfile(
        osp.join(REPO, 'configs', f'cops_r50_{dataset}.py'))
    stage1 = Config.fromfile(
        osp.join(REPO, 'configs', f'cops_r50_{dataset}_pretrain.py'))
    assert stage2.model.backbone.init_cfg is None
    assert stage1.model.backbone.init_cfg.type == 'Pretrained'


@pytest.mark.parametrize('dataset', sorted(ORIGINAL_STUFF_AREA))
def test_stage2_trains_the_original_parts_with_frozen_norms(dataset):
    """The original's stage 2 (train_net.py: Trainer.build_optimizer with
    FREEZE_*_TILL 1 and FREEZE_BN) trains the heads after the decoders and
    the AMWC cost scalars; batch norms are FrozenBatchNorm2d (no gamma /
    beta training, running statistics)."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from torch.nn.modules.batchnorm import _BatchNorm

    import projects.cops  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'cops_r50_{dataset}.py'))
    model = MODELS.build(cfg.model)
    trained = {
        name.split('.')[0] + '.' + name.split('.')[1]
        for name, param in model.named_parameters() if param.requires_grad
    }
    assert trained == {
        'semantic_head.convs', 'semantic_head.conv_seg', 'affinity_head.convs',
        'affinity_head.classifiers', 'cost_head.node_scale',
        'cost_head.node_bias', 'cost_head.edge_scales', 'cost_head.edge_biases'
    }
    model.train()
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert norms
    for module in norms:
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())


@pytest.mark.parametrize('dataset', sorted(ORIGINAL_STUFF_AREA))
def test_stage2_lrs_follow_the_original(dataset):
    """The original (train_net.py: Trainer.build_optimizer) divides the lr
    by 20 per layer group counted back from the solver: semantic head convs
    1/40, predictor 1/20; affinity head convs 1/60, each offset classifier's
    3x3 convs 1/40 and its 1x1 conv 1/20; cost scalars 1."""
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import projects.cops  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'cops_r50_{dataset}.py'))
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    lr_of = {
        id(param): group['lr'] / cfg.optim_wrapper.optimizer.lr
        for group in optimizer.param_groups for param in group['params']
    }
    expected = {
        'semantic_head.convs.': 1 / 40,
        'semantic_head.conv_seg.': 1 / 20,
        'affinity_head.convs.': 1 / 60,
        'cost_head.': 1.,
    }
    for index, classifier in enumerate(model.affinity_head.classifiers):
        for layer in range(len(classifier)):
            expected[f'affinity_head.classifiers.{index}.{layer}.'] = (
                1 / 20 if layer == len(classifier) - 1 else 1 / 40)
    checked = 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        prefix, = [p for p in expected if name.startswith(p)]
        assert lr_of[id(param)] == pytest.approx(expected[prefix]), name
        checked += 1
    assert checked > 0


# Type names renamed for one acronym casing (docs/method.md, "Names"): a
# config that still uses the old name fails at build time, naming it.
RENAMED_METRICS = {
    'CopsPanopticMetric': 'COPSPanopticMetric',
    'CopsSemSegMetric': 'COPSSemSegMetric'
}


@pytest.mark.parametrize('old', sorted(RENAMED_METRICS))
def test_old_metric_names_are_rejected(old):
    init_default_scope('mmdet')
    assert METRICS.get(RENAMED_METRICS[old]) is not None
    with pytest.raises(KeyError, match=f'{old} is not in the'):
        METRICS.build(dict(type=old))
