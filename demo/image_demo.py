"""Run a COPS checkpoint on images with mmdet's ``DetInferencer``.

Writes, under ``--out-dir``: ``vis/<image>`` (mmdet's overlay of the
panoptic, semantic and instance predictions) and, unless ``--no-save-pred``,
``preds/<image>_panoptic_seg.png`` + ``preds/<image>.json`` (mmdet's
panoptic PNG and the instances with RLE masks). With
``--save-result-images`` also ``result_images/<image>_panoptic.png``,
``_semantic.png`` and ``_boundary_d<offset>.png`` per edge offset (see
:class:`projects.cops.apis.COPSInferencer`). Folders are processed with a
progress bar.

Example::

    python demo/image_demo.py data/synthetic/val configs/cops_r18_synthetic.py \
        --weights work_dirs/cops_r18_synthetic/iter_200.pth --out-dir outputs
"""
import os.path as osp
from argparse import ArgumentParser

from mmengine.logging import print_log

from projects.cops.apis import COPSInferencer


def parse_args():
    parser = ArgumentParser(description='COPS image demo')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--weights', required=True, help='checkpoint file (local path or URL)')
    parser.add_argument(
        '--out-dir', default='outputs', help='output directory')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='inference batch size')
    parser.add_argument(
        '--pred-score-thr',
        type=float,
        default=0.3,
        help='instances scoring lower are not drawn in vis/')
    parser.add_argument(
        '--no-save-pred',
        action='store_true',
        help='do not write the panoptic PNG and JSON predictions')
    parser.add_argument(
        '--save-result-images',
        action='store_true',
        help='also write the panoptic overlay, the semantic map and the '
        'cut-edge map of each offset into result_images/')
    parser.add_argument(
        '--palette',
        default='none',
        choices=['coco', 'voc', 'citys', 'random', 'none'],
        help='colour palette; "none" uses the dataset\'s own')
    args = parser.parse_args()
    for path, name in ((args.inputs, 'inputs'), (args.config, 'config')):
        if not osp.exists(path):
            parser.error(f'{name} not found: {path}')
    if not osp.isfile(args.weights) and '://' not in args.weights:
        parser.error(f'--weights not found: {args.weights}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def main():
    args = parse_args()
    inferencer = COPSInferencer(
        model=args.config,
        weights=args.weights,
        device=args.device,
        palette=args.palette)
    inferencer(
        args.inputs,
        batch_size=args.batch_size,
        out_dir=args.out_dir,
        pred_score_thr=args.pred_score_thr,
        no_save_pred=args.no_save_pred,
        save_result_images=args.save_result_images)
    out_dir = osp.abspath(args.out_dir)
    written = [f'{out_dir}/vis']
    if not args.no_save_pred:
        written.append(f'{out_dir}/preds')
    if args.save_result_images:
        written.append(f'{out_dir}/result_images')
    print_log(f'results written to {", ".join(written)}', logger='current')


if __name__ == '__main__':
    main()
