"""Train a COPS model (mmdet's tools/train.py conventions).

Examples::

    python tools/train.py configs/cops_r18_synthetic_pretrain.py
    python tools/train.py CONFIG --resume            # latest checkpoint in work_dir
    tools/dist_train.sh configs/cops_r50_cityscapes.py 4
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from projects.cops_runtime.utils import (merge_cfg_options,
                                        register_checkpoint_safe_globals,
                                        setup_cpu_distributed,
                                        shutdown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a COPS model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a value from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs such as '
        'train_cfg.max_iters=100 or model.backbone.depth=18')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torchrun passes --local-rank (torch >= 2.0) or sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def check_load_from(cfg):
    """Fail before building anything when a local ``load_from`` is missing.

    End-to-end configs start from a pretrain checkpoint; ``pretrain_config``
    (when the config names one) says which command produces it.
    """
    load_from = cfg.get('load_from')
    if cfg.get('resume') or not load_from or '://' in load_from:
        return
    if not osp.isfile(load_from):
        hint = ''
        if cfg.get('pretrain_config'):
            hint = (f'; produce it with: python tools/train.py '
                    f'{cfg.pretrain_config}')
        raise FileNotFoundError(
            f'checkpoint to start from (load_from) not found: {load_from}'
            f'{hint}')


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)

    # work_dir priority: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    check_load_from(cfg)
    setup_cpu_distributed(cfg)
    # mmengine checkpoints hold numpy and HistoryBuffer objects, which
    # torch.load(weights_only=True) refuses unless allow-listed
    register_checkpoint_safe_globals()

    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    del runner  # see shutdown_distributed
    shutdown_distributed()


if __name__ == '__main__':
    main()
