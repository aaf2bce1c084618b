"""Run a COPS checkpoint on images with mmdet's ``DetInferencer``.

Writes, under ``--out-dir``: ``vis/<image>`` (panoptic overlay PNG) and, unless
``--no-save-pred``, ``preds/<image>_panoptic_seg.png`` + ``preds/<image>.json``
(mmdet's panoptic output format). Folders are processed with a progress bar.

Example::

    python demo/image_demo.py data/synthetic/val configs/cops_r18_synthetic.py \
        --weights work_dirs/cops_r18_synthetic/iter_1000.pth --out-dir outputs
"""
import os.path as osp
from argparse import ArgumentParser

from mmdet.apis import DetInferencer


def parse_args():
    parser = ArgumentParser(description='COPS image demo')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='model config file')
    parser.add_argument('--weights', required=True, help='checkpoint file')
    parser.add_argument(
        '--out-dir', default='outputs', help='output directory')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='inference batch size')
    parser.add_argument(
        '--no-save-pred',
        action='store_true',
        help='do not write the panoptic PNG and JSON predictions')
    parser.add_argument(
        '--palette',
        default='none',
        choices=['coco', 'voc', 'citys', 'random', 'none'],
        help='colour palette; "none" uses the dataset\'s own')
    args = parser.parse_args()
    for path, name in ((args.inputs, 'inputs'), (args.config, 'config'),
                       (args.weights, '--weights')):
        if not osp.exists(path):
            parser.error(f'{name} not found: {path}')
    return args


def main():
    args = parse_args()
    inferencer = DetInferencer(
        model=args.config,
        weights=args.weights,
        device=args.device,
        palette=args.palette)
    inferencer(
        args.inputs,
        batch_size=args.batch_size,
        out_dir=args.out_dir,
        no_save_pred=args.no_save_pred)
    print(f'results written to {osp.abspath(args.out_dir)}/vis '
          + ('' if args.no_save_pred else f'and {osp.abspath(args.out_dir)}/preds'))


if __name__ == '__main__':
    main()
