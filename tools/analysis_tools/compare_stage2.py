# Copyright (c) OpenMMLab. All rights reserved.
"""Compare COPS stage 2 with continued stage 1 from the same checkpoint.

The acceptance experiment of the end-to-end stage: from one stage-1
checkpoint, train

- ``stage2``: the end-to-end config (PQ surrogate loss through the AMWC
  solver), with ``--cfg-options`` applied (the variant under study), and
- ``stage1``: the same config with the model and optimizer of its
  ``pretrain_config`` (semantic and boundary losses, every parameter at the
  stage-1 lr): same data, batch size, lr schedule and iterations, so that
  only the training signal differs,

for every seed of ``--seeds``, then prints PQ, PQ_th, PQ_st, SQ_th, RQ_th of each
run (the validation at the end of training), their means and the paired
per-seed difference. Finished runs of the same config are reused, so
sweeping stage-2 variants (``--name`` + ``--cfg-options``) trains the
stage-1 baseline once; changing what both runs share (schedule, data,
checkpoint) needs another ``--work-dir``.

Example::

    python tools/analysis_tools/compare_stage2.py configs/cops_r18_synthetic.py \
        work_dirs/demo/pretrain/iter_500.pth --seeds 0 1 2 --jobs 2 \
        --name lambda_1_100 \
        --cfg-options model.amwc_layer.lambda_range="(1.,100.)"
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from glob import glob

from mmengine.config import Config, DictAction

from projects.cops_runtime.utils import merge_cfg_options

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METRICS = tuple(f'coco_panoptic/{key}'
                for key in ('PQ', 'PQ_th', 'PQ_st', 'SQ_th', 'RQ_th'))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='end-to-end (stage-2) config')
    parser.add_argument('checkpoint', help='stage-1 checkpoint to start from')
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0], help='run seeds')
    parser.add_argument(
        '--name',
        default='stage2',
        help='label of the stage-2 variant (its runs\' sub-directory)')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/compare_stage2',
        help='directory of the runs; finished runs of the same config are '
        'reused')
    parser.add_argument(
        '--jobs', type=int, default=1, help='training runs in parallel')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the stage-2 config (the variant); data, schedule '
        'and evaluation overrides apply to both runs, model and optimizer '
        'ones to the stage-2 run only')
    return parser.parse_args()


def stage_configs(args):
    """The stage-2 variant and the continued stage-1 config."""
    stage2 = Config.fromfile(args.config)
    if args.cfg_options:
        merge_cfg_options(stage2, args.cfg_options)
    if not stage2.get('pretrain_config'):
        raise KeyError(f'{args.config} names no pretrain_config (the stage-1 '
                       'config to continue)')
    pretrain = Config.fromfile(osp.join(REPO_ROOT, stage2.pretrain_config))
    stage1 = copy.deepcopy(stage2)
    # stage 1 continued: its own losses and optimizer (no frozen parts or
    # per-module lrs, which belong to the stage-2 method under study)
    stage1.model = pretrain.model
    stage1.optim_wrapper = pretrain.optim_wrapper
    return {args.name: stage2, 'stage1': stage1}


def read_metrics(run_dir):
    """Validation metrics at the end of a finished run, or None."""
    for scalars in sorted(glob(osp.join(run_dir, '*', 'vis_data',
                                        'scalars.json')))[::-1]:
        with open(scalars) as f:
            records = [json.loads(line) for line in f if line.strip()]
        for record in records[::-1]:
            if METRICS[0] in record:
                return {key: record[key] for key in METRICS}
    return None


def train(cfg, checkpoint, seed, run_dir):
    """Train one run and return its metrics; a finished run of the same
    config is reused, one of another config is an error."""
    cfg = cfg.copy()
    cfg.load_from = osp.abspath(checkpoint)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = run_dir
    config_file = osp.join(run_dir, 'config.py')
    metrics = read_metrics(run_dir)
    if metrics is not None:
        # tools/train.py re-dumps the config with its launcher
        finished = Config.fromfile(config_file).to_dict()
        finished.pop('launcher', None)
        if finished != cfg.to_dict():
            raise ValueError(
                f'{run_dir} holds a finished run of another config (e.g. '
                'another schedule or checkpoint); give the variant another '
                '--name, or another --work-dir when the stage-1 baseline '
                'changes too')
        return metrics
    os.makedirs(run_dir, exist_ok=True)
    cfg.dump(config_file)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get(
        'OMP_NUM_THREADS', '1'))
    with open(osp.join(run_dir, 'train.log'), 'w') as log:
        subprocess.run([
            sys.executable,
            osp.join(REPO_ROOT, 'tools', 'train.py'), config_file,
            '--work-dir', run_dir
        ],
                       env=env,
                       stdout=log,
                       stderr=subprocess.STDOUT,
                       check=True)
    metrics = read_metrics(run_dir)
    if metrics is None:
        raise RuntimeError(f'{run_dir}: training ended without validation '
                           'metrics (is train_cfg.val_interval = max_iters?)')
    return metrics


def summary(values):
    """``mean +- std`` of a list of numbers, for the table."""
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{mean:6.2f} +- {std:4.2f}'


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    if args.name == 'stage1':
        raise ValueError('--name stage1 is the baseline\'s; name the variant')
    configs = stage_configs(args)
    runs = [(name, seed) for seed in args.seeds for name in configs]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(
            zip(
                runs,
                pool.map(
                    lambda run: train(
                        configs[run[0]], args.checkpoint, run[1],
                        osp.join(args.work_dir, run[0], f'seed{run[1]}')),
                    runs)))

    names = [name.split('/')[-1] for name in METRICS]
    print(f'{"run":<28}' + ''.join(f'{n:>16}' for n in names))
    for name in configs:
        for seed in args.seeds:
            row = results[name, seed]
            print(f'{name + " seed " + str(seed):<28}' +
                  ''.join(f'{row[k]:>16.2f}' for k in METRICS))
        print(f'{name + " mean +- std":<28}' + ''.join(
            f'{summary([results[name, s][k] for s in args.seeds]):>16}'
            for k in METRICS))
    differences = {
        key: [results[args.name, s][key] - results['stage1', s][key]
              for s in args.seeds]
        for key in METRICS
    }
    print(f'{args.name + " - stage1 (paired)":<28}' +
          ''.join(f'{summary(differences[k]):>16}' for k in METRICS))


if __name__ == '__main__':
    main()
