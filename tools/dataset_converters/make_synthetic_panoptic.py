"""Write the embedded synthetic panoptic dataset in the COCO panoptic format.

The drawing is :func:`projects.cops.datasets.synthetic_generator.generate`
(layout of the output in its module docstring); every field of its
``SceneParams`` is an option here (``--help`` lists them).

Example::

    python tools/dataset_converters/make_synthetic_panoptic.py \
        --out data/synthetic
"""
import argparse
from dataclasses import fields
from typing import Tuple

from mmengine.logging import print_log

from projects.cops.datasets.synthetic_generator import SceneParams, generate


def parse_args() -> Tuple[argparse.Namespace, SceneParams]:
    parser = argparse.ArgumentParser(
        description='Write the synthetic COCO-panoptic dataset.')
    parser.add_argument('--out', default='data/synthetic',
                        help='output directory')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--seed', type=int, default=0)
    for param in fields(SceneParams):
        parser.add_argument(
            '--' + param.name.replace('_', '-'), type=type(param.default),
            default=param.default, help=param.metadata['help'])
    args = parser.parse_args()
    params = SceneParams(
        **{param.name: getattr(args, param.name)
           for param in fields(SceneParams)})
    return args, params


def main():
    args, params = parse_args()
    generate(args.out, args.num_train, args.num_val, args.seed, params)
    print_log(
        f'wrote {args.num_train} train and {args.num_val} val images of '
        f'{params.size}x{params.size} to {args.out}', logger='current')


if __name__ == '__main__':
    main()
