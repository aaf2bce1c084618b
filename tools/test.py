"""Test (and evaluate) a COPS checkpoint (mmdet's tools/test.py conventions).

Example::

    python tools/test.py configs/cops_r18_synthetic.py work_dirs/cops_r18_synthetic/iter_2000.pth
"""
import argparse
import os
import os.path as osp
import shutil

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmengine.config import Config, DictAction
from mmengine.fileio import load
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from projects.cops.evaluation import COPSPanopticMetric
from projects.cops_runtime.utils import (merge_cfg_options,
                                        register_checkpoint_safe_globals,
                                        setup_cpu_distributed,
                                        shutdown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a COPS model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics and logs')
    parser.add_argument(
        '--out', help='dump predictions to a pickle file (.pkl)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions to this dir (inside the run\'s '
        'timestamped work dir); copies of the lowest-PQ ones go to its '
        'worst/ subdir, named by rank')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {args.out}')

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    setup_cpu_distributed(cfg)
    # mmengine checkpoints hold numpy and HistoryBuffer objects, which
    # torch.load(weights_only=True) refuses unless allow-listed
    register_checkpoint_safe_globals()

    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    panoptic_metrics = [
        metric for metric in runner.test_evaluator.metrics
        if isinstance(metric, COPSPanopticMetric)
    ]
    for index, metric in enumerate(panoptic_metrics):
        metric.per_image_prefix = osp.join(
            runner.log_dir, 'per_image_pq' + (f'_{index}' if index else ''))
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()
    if args.show_dir and panoptic_metrics and runner.rank == 0:
        copy_worst_painted(panoptic_metrics[0],
                           osp.join(runner.log_dir, args.show_dir))
    del runner  # see shutdown_distributed
    shutdown_distributed()


def copy_worst_painted(metric: COPSPanopticMetric, show_dir: str) -> None:
    """Copy the painted images of the ``metric.num_worst`` lowest-PQ images
    to ``show_dir/worst/<rank>_<image>`` (rank 1 = lowest PQ)."""
    json_file = metric.per_image_prefix + '.json'
    if not osp.isfile(json_file):  # outfile_prefix: no per-image PQ
        return
    records = [r for r in load(json_file) if r['PQ'] is not None]
    worst_dir = osp.join(show_dir, 'worst')
    os.makedirs(worst_dir, exist_ok=True)
    ranked = sorted(records, key=lambda r: r['PQ'])[:metric.num_worst]
    for rank, record in enumerate(ranked, 1):
        name = osp.basename(record['img_path'])
        shutil.copy(
            osp.join(show_dir, name),
            osp.join(worst_dir, f'{rank:03d}_{name}'))


if __name__ == '__main__':
    main()
