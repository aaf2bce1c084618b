"""Draw the synthetic panoptic dataset and write it in the COCO panoptic format.

Every image is a few textured background regions (the stuff classes of
:class:`SyntheticPanopticDataset`) with a few flat-coloured shapes on top (the
thing classes: discs, squares, triangles of equal area, so the class shows in
colour and outline but not in size). Shapes may touch or overlap, the later
drawn in front; same-class shapes touch often, so instances must be separated
at their boundaries (each shape has a darker one-pixel rim).
:func:`generate` writes under ``out_dir``::

    train/000001.png ...                 RGB images (PNG, byte-deterministic)
    val/000001.png ...
    annotations/panoptic_train.json      images, annotations with segments_info
    annotations/panoptic_val.json        (id, category_id, iscrowd, area,
                                         bbox), categories (id, name,
                                         isthing, color), info (parameters)
    annotations/panoptic_train/*.png     panoptic PNGs, segment id =
    annotations/panoptic_val/*.png       R + 256 G + 256^2 B, 0 = void
    annotations/instances_train.json     COCO instances of the thing
    annotations/instances_val.json       segments (RLE masks), for segm AP

No semantic PNGs are written: mmdet's ``LoadPanopticAnnotations`` builds the
semantic map from the panoptic PNG and ``segments_info``, and
``CocoPanopticMetric`` reads only the panoptic PNGs and the JSON.
A segment id is its category colour, with the blue channel shifted per
instance (the COCO panopticapi way), so the panoptic PNGs show the classes.
The same arguments write byte-identical files; image ``i`` of a split
depends only on (seed, split, ``i``). Command line:
``tools/dataset_converters/make_synthetic_panoptic.py``.
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import List, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.utils import mkdir_or_exist
from panopticapi.utils import id2rgb

from ..evaluation.functional import panoptic_to_instances
from .synthetic_panoptic import SyntheticPanopticDataset

METAINFO = SyntheticPanopticDataset.METAINFO
# Sides of each thing shape (0 = disc) and texture of each stuff class.
THING_SIDES = {'disc': 0, 'square': 4, 'triangle': 3}
STUFF_TEXTURES = {'grass': 'noise', 'water': 'stripes', 'tiles': 'checker'}
# Odd, so the blue channels of up to 256 instances of one class all differ.
INSTANCE_COLOUR_STEP = 37
SPLITS = ('train', 'val')


def option(default, help_text: str):
    """A dataclass field that is also a command-line option."""
    return field(default=default, metadata={'help': help_text})


@dataclass(frozen=True)
class SceneParams:
    """How the images are drawn; every field is a command-line option."""

    size: int = option(128, 'image height = width')
    min_instances: int = option(2, 'fewest shapes drawn')
    max_instances: int = option(6, 'most shapes drawn')
    min_extent: float = option(16., 'diameter (px) of a disc of equal area')
    max_extent: float = option(48., 'see --min-extent')
    min_area: int = option(64, 'segments smaller after occlusion are dropped')
    touch_prob: float = option(0.5, 'probability a shape touches an earlier')
    same_class_prob: float = option(0.5, 'and takes its class')
    max_overlap: float = option(0.3, 'touching shapes overlap by up to this '
                                'fraction of their radii sum')
    min_regions: int = option(2, 'fewest Voronoi cells of the background')
    max_regions: int = option(5, 'most Voronoi cells of the background')
    boundary_warp: float = option(8., 'wiggle (px) of the region borders')
    warp_cell: float = option(32., 'length (px) of a border wiggle')
    min_period: float = option(6., 'period (px) of stripes and checkers')
    max_period: float = option(12., 'see --min-period')
    texture_contrast: float = option(0.2, 'brightness swing of textures')
    shading: float = option(0.12, 'brightness gradient across shapes')
    rim_darkening: float = option(0.3, 'relative darkening of shape rims')
    colour_jitter: float = option(20., 'uniform jitter of each base colour')
    noise_std: float = option(6., 'std of the Gaussian pixel noise')

    def __post_init__(self):
        for low, high in (('min_instances', 'max_instances'),
                          ('min_extent', 'max_extent'),
                          ('min_regions', 'max_regions'),
                          ('min_period', 'max_period')):
            if not 0 < getattr(self, low) <= getattr(self, high):
                raise ValueError(
                    f'need 0 < {low} <= {high}, got '
                    f'{getattr(self, low)}, {getattr(self, high)}')
        if self.size < 16:
            raise ValueError(f'size must be >= 16, got {self.size}')
        if self.max_extent >= self.size:
            raise ValueError(f'max_extent must be < size {self.size}, '
                             f'got {self.max_extent}')
        if self.max_instances > 256:
            raise ValueError('max_instances must be <= 256 (unique segment '
                             f'colours), got {self.max_instances}')
        for name in ('touch_prob', 'same_class_prob', 'max_overlap'):
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
    ys = ys + params.boundary_warp * smooth_noise(rng, size, params.warp_cell)
    xs = xs + params.boundary_warp * smooth_noise(rng, size, params.warp_cell)
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
            distance = (anchor.radius + radius) * (
                1 - params.max_overlap * rng.random())
            centre = anchor.centre + distance * np.array(
                [np.cos(direction), np.sin(direction)])
        else:  # up to half a shape may fall outside the image
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


def paint_stuff(rng: np.random.Generator, params: SceneParams,
                layout: np.ndarray) -> np.ndarray:
    """Textured stuff colours, [size, size, 3] float32 RGB, of the stuff
    index map ``layout`` [size, size]."""
    num_things = len(METAINFO['thing_classes'])
    stuff_names = METAINFO['stuff_classes']
    patterns = np.stack(
        [texture(rng, params, STUFF_TEXTURES[name]) for name in stuff_names])
    colours = np.stack([
        jittered(rng, METAINFO['palette'][num_things + i],
                 params.colour_jitter) for i in range(len(stuff_names))
    ])
    ys, xs = np.indices(layout.shape)
    brightness = 1 + params.texture_contrast * patterns[layout, ys, xs]
    return colours[layout] * brightness[..., None]


def visible_shapes(masks: List[np.ndarray],
                   min_area: int) -> Tuple[np.ndarray, List[int]]:
    """Index of the front shape per pixel ([size, size] int64, -1 = none)
    and the indices of the shapes kept. Shapes that later ones leave below
    ``min_area`` are dropped; dropping only uncovers the others, so one
    pass suffices."""
    front = np.full(masks[0].shape, -1)
    for index, mask in enumerate(masks):
        front[mask] = index
    visible = np.bincount(front[front >= 0], minlength=len(masks))
    kept = [i for i in range(len(masks)) if visible[i] >= min_area]
    front[:] = -1
    for index in kept:
        front[masks[index]] = index
    return front, kept


def paint_shape(image: np.ndarray, shape: Shape, mask: np.ndarray,
                region: np.ndarray, light: float,
                params: SceneParams) -> None:
    """Paint the visible ``region`` of a shape into ``image`` in place: its
    colour, shaded along the light direction, darker on the one-pixel rim
    of its full ``mask``."""
    rim = mask & ~cv2.erode(mask.astype(np.uint8), np.ones(
        (3, 3), np.uint8)).astype(bool)
    rows, cols = np.nonzero(region)
    slope = ((cols + 0.5 - shape.centre[0]) * np.cos(light) +
             (rows + 0.5 - shape.centre[1]) * np.sin(light)) / shape.radius
    brightness = (1 + params.shading * slope) * (
        1 - params.rim_darkening * rim[rows, cols])
    image[rows, cols] = shape.colour * brightness[:, None]


def segment_info(colour: Tuple[int, int, int], label: int,
                 region: np.ndarray) -> dict:
    """COCO panoptic ``segments_info`` entry of a [size, size] bool region
    whose PNG colour is ``colour`` and contiguous label is ``label``."""
    rows, cols = np.nonzero(region)
    x0, y0 = int(cols.min()), int(rows.min())
    return dict(
        id=int(colour[0] + 256 * colour[1] + 256**2 * colour[2]),
        category_id=label + 1,
        iscrowd=0,
        area=len(rows),
        bbox=[x0, y0, int(cols.max()) - x0 + 1, int(rows.max()) - y0 + 1])


def render_scene(rng: np.random.Generator,
                 params: SceneParams) -> Tuple[np.ndarray, np.ndarray, list]:
    """Draw one image.

    Returns:
        tuple: the RGB image [size, size, 3] uint8, the panoptic id map
        [size, size] int64 (0 = void) and its ``segments_info`` (id,
        category_id, iscrowd, area, bbox [x, y, w, h]); things come first,
        in drawing order.
    """
    num_things = len(METAINFO['thing_classes'])
    palette = METAINFO['palette']
    layout = stuff_layout(rng, params, len(METAINFO['stuff_classes']))
    image = paint_stuff(rng, params, layout)
    shapes = sample_shapes(rng, params, num_things)
    masks = [shape_mask(shape, params.size) for shape in shapes]
    front, kept = visible_shapes(masks, params.min_area)

    light = rng.uniform(0, 2 * np.pi)
    segments = []
    instance_counts = [0] * num_things
    for index in kept:
        shape, region = shapes[index], front == index
        paint_shape(image, shape, masks[index], region, light, params)
        r, g, b = palette[shape.label]
        shift = INSTANCE_COLOUR_STEP * instance_counts[shape.label]
        instance_counts[shape.label] += 1
        segments.append(((r, g, (b + shift) % 256), shape.label, region))
    for label in range(num_things, len(palette)):
        region = (front < 0) & (layout == label - num_things)
        if region.sum() >= params.min_area:
            segments.append((palette[label], label, region))

    pan = np.zeros(layout.shape, np.int64)
    segments_info = []
    for colour, label, region in segments:
        segments_info.append(segment_info(colour, label, region))
        pan[region] = segments_info[-1]['id']
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
    info = dict(description='COPS synthetic panoptic dataset', split=split,
                num_images=num_images, seed=seed, **asdict(params))
    coco = dict(info=info, licenses=[], images=images,
                annotations=annotations, categories=categories())
    with open(osp.join(out_dir, 'annotations', f'panoptic_{split}.json'),
              'w') as f:
        json.dump(coco, f)
    instances = panoptic_to_instances(
        coco, osp.join(out_dir, 'annotations', f'panoptic_{split}'))
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'),
              'w') as f:
        json.dump(instances, f)


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
