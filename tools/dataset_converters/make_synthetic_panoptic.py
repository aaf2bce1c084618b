"""Write the embedded synthetic panoptic dataset in the COCO panoptic format.

Every image is a few textured background regions (the stuff classes of
:class:`SyntheticPanopticDataset`) with 2-6 flat-coloured shapes on top (the
thing classes: discs, squares, triangles of equal area, so the class shows in
colour and outline but not in size). Shapes may touch or overlap, the later
drawn in front; same-class shapes touch often, so instances must be separated
at their boundaries (each shape has a darker one-pixel rim). Output under
``--out``::

    train/000001.png ...                 RGB images (PNG, byte-deterministic)
    val/000001.png ...
    annotations/panoptic_train.json      images, annotations with segments_info
    annotations/panoptic_val.json        (id, category_id, iscrowd, area, bbox),
                                         categories (id, name, isthing, color)
    annotations/panoptic_train/*.png     panoptic PNGs, segment id =
    annotations/panoptic_val/*.png       R + 256 G + 256^2 B, 0 = void

No semantic PNGs are written: mmdet's ``LoadPanopticAnnotations`` builds the
semantic map from the panoptic PNG and ``segments_info``, and
``CocoPanopticMetric`` reads only the panoptic PNGs and the JSON.
A segment id is its category colour, with the blue channel shifted per
instance (the COCO panopticapi way), so the panoptic PNGs show the classes.
Running the script twice with the same arguments writes byte-identical files.

Example::

    python tools/dataset_converters/make_synthetic_panoptic.py --out data/synthetic
"""
import argparse
import json
import os.path as osp
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist
from panopticapi.utils import id2rgb

from projects.cops.datasets import SyntheticPanopticDataset

METAINFO = SyntheticPanopticDataset.METAINFO
# Sides of each thing shape (0 = disc) and texture of each stuff class.
THING_SIDES = {'disc': 0, 'square': 4, 'triangle': 3}
STUFF_TEXTURES = {'grass': 'noise', 'water': 'stripes', 'tiles': 'checker'}
# Odd, so the blue channels of up to 256 instances of one class all differ.
INSTANCE_COLOUR_STEP = 37
SPLITS = ('train', 'val')


@dataclass(frozen=True)
class SceneParams:
    """How the images are drawn; every field is a command-line option."""

    size: int = field(default=128, metadata={'help': 'image height = width'})
    min_instances: int = field(default=2, metadata={'help': 'shapes drawn'})
    max_instances: int = field(default=6, metadata={'help': 'shapes drawn'})
    min_extent: float = field(
        default=16., metadata={'help': 'diameter (px) of a disc of equal area'})
    max_extent: float = field(default=48., metadata={'help': 'see min_extent'})
    min_area: int = field(
        default=64,
        metadata={'help': 'segments smaller after occlusion are not stored'})
    touch_prob: float = field(
        default=0.5,
        metadata={'help': 'probability a shape is placed touching another'})
    same_class_prob: float = field(
        default=0.5,
        metadata={'help': 'probability a touching shape takes its class'})
    min_regions: int = field(
        default=2, metadata={'help': 'Voronoi cells of the background'})
    max_regions: int = field(default=5, metadata={'help': 'see min_regions'})
    boundary_warp: float = field(
        default=8., metadata={'help': 'wiggle (px) of the region borders'})
    min_period: float = field(
        default=6., metadata={'help': 'period (px) of stripes and checkers'})
    max_period: float = field(default=12., metadata={'help': 'see min_period'})
    texture_contrast: float = field(
        default=0.2, metadata={'help': 'relative brightness swing of textures'})
    shading: float = field(
        default=0.12, metadata={'help': 'brightness gradient across shapes'})
    rim_darkening: float = field(
        default=0.3, metadata={'help': 'relative darkening of shape rims'})
    colour_jitter: float = field(
        default=20., metadata={'help': 'uniform jitter of each base colour'})
    noise_std: float = field(
        default=6., metadata={'help': 'std of the Gaussian pixel noise'})

    def __post_init__(self):
        for low, high in (('min_instances', 'max_instances'),
                          ('min_extent', 'max_extent'),
                          ('min_regions', 'max_regions'),
                          ('min_period', 'max_period')):
            if not 0 < getattr(self, low) <= getattr(self, high):
                raise ValueError(f'need 0 < {low} <= {high}, got '
                                 f'{getattr(self, low)}, {getattr(self, high)}')
        if self.size < 16:
            raise ValueError(f'size must be >= 16, got {self.size}')
        if self.max_extent >= self.size:
            raise ValueError(f'max_extent must be < size {self.size}, '
                             f'got {self.max_extent}')
        if self.max_instances > 256:
            raise ValueError('max_instances must be <= 256 (unique segment '
                             f'colours), got {self.max_instances}')
        for name in ('touch_prob', 'same_class_prob'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(
                    f'{name} must be in [0, 1], got {getattr(self, name)}')


@dataclass
class Shape:
    """One thing instance: class label (0-based), centre (x, y), radius of
    the disc of equal area, rotation (rad) and jittered RGB colour."""

    label: int
    centre: np.ndarray
    radius: float
    rotation: float
    colour: np.ndarray


def smooth_noise(rng: np.random.Generator, size: int,
                 cell: float) -> np.ndarray:
    """Bilinearly upsampled Gaussian noise, [size, size] float32, blobs of
    about ``cell`` px."""
    coarse = int(np.ceil(size / cell)) + 1
    values = rng.standard_normal((coarse, coarse)).astype(np.float32)
    return cv2.resize(values, (size, size), interpolation=cv2.INTER_LINEAR)


def pixel_grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (ys, xs), each [size, size] float32."""
    coords = np.arange(size, dtype=np.float32) + 0.5
    return np.meshgrid(coords, coords, indexing='ij')


def stuff_layout(rng: np.random.Generator, params: SceneParams,
                 num_stuff: int) -> np.ndarray:
    """Stuff index per pixel, [size, size] int64 in [0, num_stuff): warped
    Voronoi cells, each of a random stuff class."""
    size = params.size
    num_regions = rng.integers(params.min_regions, params.max_regions + 1)
    seeds = rng.uniform(0, size, (num_regions, 2)).astype(np.float32)
    cell_classes = rng.integers(num_stuff, size=num_regions)
    ys, xs = pixel_grid(size)
    ys = ys + params.boundary_warp * smooth_noise(rng, size, size / 4)
    xs = xs + params.boundary_warp * smooth_noise(rng, size, size / 4)
    sq_dists = ((ys[None] - seeds[:, 0, None, None])**2 +
                (xs[None] - seeds[:, 1, None, None])**2)
    return cell_classes[sq_dists.argmin(axis=0)]


def texture(rng: np.random.Generator, params: SceneParams,
            kind: str) -> np.ndarray:
    """Brightness pattern of a stuff class, [size, size] float32 in about
    [-1, 1]: 'noise' blobs, 'stripes' or a 'checker' board at a random
    angle and period."""
    if kind == 'noise':
        return smooth_noise(rng, params.size, params.min_period / 2)
    period = rng.uniform(params.min_period, params.max_period)
    angle = rng.uniform(0, np.pi)
    ys, xs = pixel_grid(params.size)
    along = (xs * np.cos(angle) + ys * np.sin(angle)) / period
    if kind == 'stripes':
        return np.sin(2 * np.pi * along + rng.uniform(0, 2 * np.pi))
    across = (ys * np.cos(angle) - xs * np.sin(angle)) / period
    return 2. * ((np.floor(along) + np.floor(across)) % 2) - 1.


def jittered(rng: np.random.Generator, colour, jitter: float) -> np.ndarray:
    return np.asarray(colour, np.float32) + rng.uniform(-jitter, jitter, 3)


def sample_shapes(rng: np.random.Generator, params: SceneParams,
                  num_things: int) -> List[Shape]:
    """Shapes in drawing order; some are placed touching or overlapping an
    earlier one, often taking its class."""
    shapes: List[Shape] = []
    for _ in range(rng.integers(params.min_instances,
                                params.max_instances + 1)):
        label = int(rng.integers(num_things))
        radius = rng.uniform(params.min_extent, params.max_extent) / 2
        if shapes and rng.random() < params.touch_prob:
            anchor = shapes[rng.integers(len(shapes))]
            if rng.random() < params.same_class_prob:
                label = anchor.label
            direction = rng.uniform(0, 2 * np.pi)
            distance = (anchor.radius + radius) * rng.uniform(0.7, 1.)
            centre = anchor.centre + distance * np.array(
                [np.cos(direction), np.sin(direction)])
        else:
            centre = rng.uniform(radius / 2, params.size - radius / 2, 2)
        colour = jittered(rng, METAINFO['palette'][label],
                          params.colour_jitter)
        shapes.append(
            Shape(label, centre, radius, rng.uniform(0, 2 * np.pi), colour))
    return shapes


def shape_mask(shape: Shape, size: int) -> np.ndarray:
    """Pixels of a shape, [size, size] bool. A regular polygon with n sides
    has the area of the disc of ``shape.radius`` when its inradius is
    ``radius * sqrt(pi / (n tan(pi / n)))``."""
    ys, xs = pixel_grid(size)
    dx, dy = xs - shape.centre[0], ys - shape.centre[1]
    sides = THING_SIDES[METAINFO['thing_classes'][shape.label]]
    if sides == 0:
        return dx**2 + dy**2 <= shape.radius**2
    inradius = shape.radius * np.sqrt(np.pi / (sides * np.tan(np.pi / sides)))
    normals = shape.rotation + 2 * np.pi * np.arange(sides) / sides
    proj = dx[..., None] * np.cos(normals) + dy[..., None] * np.sin(normals)
    return (proj <= inradius).all(axis=-1)


def render_scene(rng: np.random.Generator,
                 params: SceneParams) -> Tuple[np.ndarray, np.ndarray, list]:
    """Draw one image.

    Returns:
        tuple: the RGB image [size, size, 3] uint8, the panoptic id map
        [size, size] int64 (0 = void) and its ``segments_info`` (id,
        category_id, iscrowd, area, bbox [x, y, w, h]).
    """
    num_things = len(METAINFO['thing_classes'])
    stuff_names = METAINFO['stuff_classes']
    palette = METAINFO['palette']
    layout = stuff_layout(rng, params, len(stuff_names))
    ys, xs = np.indices(layout.shape)
    patterns = np.stack(
        [texture(rng, params, STUFF_TEXTURES[name]) for name in stuff_names])
    colours = np.stack([
        jittered(rng, palette[num_things + i], params.colour_jitter)
        for i in range(len(stuff_names))
    ])
    image = colours[layout] * (
        1 + params.texture_contrast * patterns[layout, ys, xs])[..., None]

    # Drop shapes left below min_area by later ones; the rest only grow.
    shapes = sample_shapes(rng, params, num_things)
    masks = [shape_mask(shape, params.size) for shape in shapes]
    front = np.full(layout.shape, -1)
    for index, mask in enumerate(masks):
        front[mask] = index
    visible = np.bincount(front[front >= 0], minlength=len(shapes))
    kept = [i for i in range(len(shapes)) if visible[i] >= params.min_area]
    front = np.full(layout.shape, -1)
    for index in kept:
        front[masks[index]] = index

    light = rng.uniform(0, 2 * np.pi)
    kernel = np.ones((3, 3), np.uint8)
    pan = np.zeros(layout.shape, np.int64)
    instance_counts = [0] * num_things
    segments = []
    for index in kept:
        shape, region = shapes[index], front == index
        rim = masks[index] & ~cv2.erode(
            masks[index].astype(np.uint8), kernel).astype(bool)
        slope = ((xs - shape.centre[0]) * np.cos(light) +
                 (ys - shape.centre[1]) * np.sin(light)) / shape.radius
        brightness = (1 + params.shading * slope) * (
            1 - params.rim_darkening * rim)
        image[region] = shape.colour * brightness[region][:, None]
        r, g, b = palette[shape.label]
        count = instance_counts[shape.label]
        instance_counts[shape.label] += 1
        segment_colour = (r, g, (b + INSTANCE_COLOUR_STEP * count) % 256)
        segments.append((segment_colour, shape.label, region))
    for i in range(len(stuff_names)):
        region = (front < 0) & (layout == i)
        if region.sum() >= params.min_area:
            segments.append((palette[num_things + i], num_things + i, region))

    segments_info = []
    for colour, label, region in segments:
        segment_id = int(colour[0] + 256 * colour[1] + 256**2 * colour[2])
        pan[region] = segment_id
        rows, cols = np.nonzero(region)
        x0, y0 = int(cols.min()), int(rows.min())
        segments_info.append(
            dict(id=segment_id, category_id=label + 1, iscrowd=0,
                 area=int(region.sum()),
                 bbox=[x0, y0, int(cols.max()) - x0 + 1,
                       int(rows.max()) - y0 + 1]))

    image += rng.normal(0, params.noise_std, image.shape)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return image, pan, segments_info


def categories() -> List[dict]:
    """COCO panoptic categories, ids 1..6 in the dataset's label order."""
    things = METAINFO['thing_classes']
    return [
        dict(id=i + 1, name=name, supercategory=name,
             isthing=int(name in things), color=list(METAINFO['palette'][i]))
        for i, name in enumerate(METAINFO['classes'])
    ]


def write_split(out_dir: str, split: str, split_index: int, num_images: int,
                seed: int, params: SceneParams) -> None:
    """Write the images, panoptic PNGs and JSON of one split. Image ``i``
    is drawn from its own generator seeded by (seed, split, i)."""
    images, annotations = [], []
    for index in range(num_images):
        rng = np.random.default_rng([seed, split_index, index])
        image, pan, segments_info = render_scene(rng, params)
        image_id = index + 1
        file_name = f'{image_id:06d}.png'
        mmcv.imwrite(
            mmcv.rgb2bgr(image), osp.join(out_dir, split, file_name))
        mmcv.imwrite(
            mmcv.rgb2bgr(id2rgb(pan)),
            osp.join(out_dir, 'annotations', f'panoptic_{split}', file_name))
        images.append(dict(id=image_id, file_name=file_name,
                           height=params.size, width=params.size))
        annotations.append(dict(image_id=image_id, file_name=file_name,
                                segments_info=segments_info))
    info = dict(description='COPS synthetic panoptic dataset',
                generator='tools/dataset_converters/make_synthetic_panoptic.py',
                split=split, num_images=num_images, seed=seed,
                **asdict(params))
    coco = dict(info=info, licenses=[], images=images,
                annotations=annotations, categories=categories())
    with open(osp.join(out_dir, 'annotations', f'panoptic_{split}.json'),
              'w') as f:
        json.dump(coco, f)


def generate(out_dir: str, num_train: int = 200, num_val: int = 50,
             seed: int = 0, params: SceneParams = SceneParams()) -> None:
    """Write both splits under ``out_dir``."""
    for name, count in (('num_train', num_train), ('num_val', num_val)):
        if count < 1:
            raise ValueError(f'{name} must be >= 1, got {count}')
    mkdir_or_exist(osp.join(out_dir, 'annotations'))
    for split_index, (split, count) in enumerate(
            zip(SPLITS, (num_train, num_val))):
        write_split(out_dir, split, split_index, count, seed, params)


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
    params: Dict = {param.name: getattr(args, param.name)
                    for param in fields(SceneParams)}
    return args, SceneParams(**params)


def main():
    args, params = parse_args()
    generate(args.out, args.num_train, args.num_val, args.seed, params)
    print_log(f'wrote {args.num_train} train and {args.num_val} val images '
              f'of {params.size}x{params.size} to {args.out}', logger='current')


if __name__ == '__main__':
    main()
