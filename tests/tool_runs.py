"""Helpers of the tests that run the tools: shrunk COPS stage-1 configs on
the shared synthetic data (``synthetic_root``), ``--cfg-options`` pointing a
config at it, and ``tools/*.py`` runs in subprocesses."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from glob import glob

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASE_CONFIG = osp.join(REPO, 'configs/cops_r18_synthetic_pretrain.py')
RUN_TIMEOUT = 300


def generator_info(data_root, split='val'):
    """The generator's parameters of a split (image size, number of
    images, ...), as written into the panoptic JSON's ``info``."""
    with open(osp.join(data_root, 'annotations',
                       f'panoptic_{split}.json')) as f:
        return json.load(f)['info']


def shrunk_config(data_root,
                  max_iters,
                  checkpoint_interval,
                  batch_size=2,
                  random_augmentation=True,
                  base_config=BASE_CONFIG,
                  **options):
    """A synthetic config (stage 1 unless ``base_config`` says otherwise),
    shrunk for a test of a few seconds.

    Tiny widths, crops of the size of the ``data_root`` images (the shared
    synthetic data, 64 x 64), no validation (testing on
    the val split with PQ only), a loss log and scalar record every iteration
    (``window_size=1``: the iteration's own value), deterministic seeded
    training; without ``random_augmentation`` the ``Random*`` transforms are
    dropped. ``options`` are merged last (dotted keys).
    """
    cfg = Config.fromfile(base_config)
    image_size = generator_info(data_root, 'train')['size']
    pipeline = []
    for transform in cfg.train_dataloader.dataset.pipeline:
        if not random_augmentation and transform['type'].startswith('Random'):
            continue
        for key in ('scale', 'crop_size', 'size'):
            if key in transform:
                transform[key] = (image_size, image_size)
        pipeline.append(transform)
    cfg.train_dataloader.dataset.pipeline = pipeline
    decoder = dict(
        in_channels=(8, 16, 64),
        aspp_channels=8,
        aspp_dilations=(2, 4),
        project_channels=(4, 8),
        decoder_channels=8)
    cfg.merge_from_dict({
        'model.backbone.base_channels': 8,
        'model.backbone.stem_channels': 8,
        'model.semantic_head.decoder': decoder,
        'model.semantic_head.head_channels': 8,
        'model.affinity_head.decoder': decoder,
        'model.affinity_head.head_channels': 8,
        'model.affinity_head.classifier_channels': 4,
        'train_dataloader.batch_size': batch_size,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': data_root,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters + 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': checkpoint_interval,
        'default_hooks.checkpoint.max_keep_ckpts': -1,
        'log_processor.window_size': 1,
        'randomness': dict(seed=0, deterministic=True),
    })
    cfg.param_scheduler = [
        dict(type='PolyLR', power=0.9, end=max_iters, by_epoch=False)
    ]
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_dataloader.merge(
        dict(
            batch_size=batch_size,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(data_root=data_root)))
    test_data = cfg.test_dataloader.dataset
    cfg.test_evaluator = dict(
        type='CocoPanopticMetric',
        ann_file=data_root + test_data['ann_file'],
        seg_prefix=data_root + test_data['data_prefix']['seg'])
    cfg.merge_from_dict(options)
    return cfg


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def tool_env():
    """One torch thread per process (the tests share two cores), the repo
    importable and the venv's python first on PATH (for the launchers)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env['OMP_NUM_THREADS'] = '1'
    env['PORT'] = str(free_port())
    return env


def train_command(config, work_dir, *args):
    return [
        sys.executable,
        osp.join(REPO, 'tools/train.py'), config, '--work-dir', work_dir, *args
    ]


def run_checked(command, cwd=REPO):
    """Run ``command`` from ``cwd``; fail the test with its output's tail on
    error."""
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT)
    output = proc.stdout + proc.stderr
    errors = [
        line for line in output.splitlines()
        if 'rror' in line or 'terminate' in line or 'what()' in line
    ]
    assert proc.returncode == 0, (
        f'{" ".join(command)} failed ({proc.returncode}):\n' +
        '\n'.join(errors[-10:]) + '\n' + output[-2000:])
    return proc


def run_tool(script, *args, cwd=REPO):
    """``python tools/<script> args`` from ``cwd``, checked; its output."""
    proc = run_checked([sys.executable,
                        osp.join(REPO, 'tools', script), *args],
                       cwd=cwd)
    return proc.stdout + proc.stderr


def loader_options():
    """Batch 2, data in the main process, for every dataloader."""
    return [
        f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
        for key in ('batch_size=2', 'num_workers=0',
                    'persistent_workers=False')
    ]


def data_options(root):
    """Loader options plus the training and validation data at ``root``."""
    return loader_options() + [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/panoptic_val.json',
        f'val_evaluator.seg_prefix={root}annotations/panoptic_val/',
    ]


def train(config, work_dir, *args):
    """``tools/train.py config --work-dir work_dir args``, checked."""
    return run_checked(train_command(config, work_dir, *args))


def read_scalars(work_dir):
    """Training records ``{iter: {'loss': ..., ...}}`` of every run (each
    timestamped folder) in ``work_dir``, later runs overwriting earlier; a
    line still being written is left out."""
    records = {}
    for path in sorted(
            glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            complete_lines = f.read().split('\n')[:-1]
        for line in complete_lines:
            record = json.loads(line)
            if 'loss' in record:
                records[record['iter']] = record
    return records
