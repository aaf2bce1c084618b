"""One stage-1 and one stage-2 training step and full-size inference of the
r50 Cityscapes configs on one device, on data fabricated here.

Run by ``tools/check_gpu.sh`` (docs/gpu.md), which first runs the CUDA device
tests. Nothing is read from disk but the configs: the backbone starts from
random weights (no ImageNet checkpoint needed), stage 2 starts from the
stage-1 model of the same run, and the images are a fabricated street-like
scene (stuff bands, rectangular instances) packed by the configs' own
target transforms. Prints, per stage, the seconds per step (the first one
includes CUDA start-up), the losses and the peak GPU memory; for inference
the per-image seconds of the network, the solver (costs, host copies,
AMWC) and the post-processing, once with the untrained network and once
with the network's output replaced by confident logits of the scene (the
solver's time depends on the costs; trained networks give confident ones).

Example::

    python tools/analysis_tools/check_gpu.py --device cuda
    python tools/analysis_tools/check_gpu.py --device cpu \\
        --train-size 128 256 --batch-size 1 --test-size 128 256
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import MODELS, TRANSFORMS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import projects.cops  # noqa: F401

STAGE1 = 'configs/cops_r50_cityscapes_pretrain.py'
STAGE2 = 'configs/cops_r50_cityscapes.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda', help='cuda, cuda:1, cpu')
    parser.add_argument(
        '--train-size',
        type=int,
        nargs=2,
        default=(512, 1024),
        metavar=('H', 'W'),
        help='training crop (the configs\' 512 x 1024)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--train-steps', type=int, default=2)
    parser.add_argument(
        '--test-size',
        type=int,
        nargs=2,
        default=(1024, 2048),
        metavar=('H', 'W'),
        help='inference image size (Cityscapes: 1024 x 2048)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timed inference runs after one warm-up run')
    parser.add_argument('--out', help='also write the figures to this JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of both configs, key=value')
    return parser.parse_args()


def scene(height, width, seed=0):
    """A street-like panoptic scene: stuff bands (classes 8..18 of
    Cityscapes: road at the bottom, sky on top) and non-overlapping
    rectangular instances of the 8 thing classes in the middle band.

    Returns:
        tuple: ``img`` [H, W, 3] uint8, ``sem`` [H, W] uint8 classes,
        ``masks`` [K, H, W] uint8 instance masks and ``pan`` [H, W] int64
        panoptic ids (``class + k * INSTANCE_OFFSET``).
    """
    rng = np.random.default_rng(seed)
    bands = np.linspace(0, height, 6).astype(int)
    sem = np.zeros((height, width), np.uint8)
    for k, (top, bottom) in enumerate(zip(bands[:-1], bands[1:])):
        sem[top:bottom] = 8 + (3 * k) % 11
    sem[:, :width // 8] = 11  # a wall on the left
    masks, pan = [], sem.astype(np.int64)
    cell_h, cell_w = max(height // 8, 2), max(width // 12, 2)
    for row in range(2, 6):
        for col in range(12):
            if rng.random() < 0.5:
                continue
            top, left = row * cell_h, col * cell_w
            h = int(cell_h * rng.uniform(0.5, 1.0))
            w = int(cell_w * rng.uniform(0.5, 1.0))
            mask = np.zeros((height, width), np.uint8)
            mask[top:top + h, left:left + w] = 1
            label = int(rng.integers(0, 8))
            sem[mask > 0] = label
            masks.append(mask)
            pan[mask > 0] = label + len(masks) * INSTANCE_OFFSET
    palette = rng.integers(0, 256, (19, 3), dtype=np.uint8)
    img = palette[sem]
    return img, sem, np.stack(masks), pan


def training_batch(cfg, height, width, batch_size):
    """The scene packed by the config's GenerateCOPSTargets and
    PackCOPSInputs, ``batch_size`` times (different seeds)."""
    steps = {t['type']: t for t in cfg.train_pipeline}
    generate = TRANSFORMS.build(steps['GenerateCOPSTargets'])
    pack = TRANSFORMS.build(steps['PackCOPSInputs'])
    inputs, samples = [], []
    for seed in range(batch_size):
        img, sem, masks, _ = scene(height, width, seed)
        packed = pack(
            generate(
                dict(
                    img=img,
                    gt_seg_map=sem,
                    gt_masks=BitmapMasks(masks, height, width),
                    img_shape=(height, width),
                    ori_shape=(height, width),
                    img_id=seed,
                    img_path=f'scene_{seed}.png')))
        inputs.append(packed['inputs'])
        samples.append(packed['data_samples'])
    return dict(inputs=inputs, data_samples=samples)


def load_config(path, train_size, cfg_options):
    cfg = Config.fromfile(path)
    # random backbone weights: nothing to download or convert
    cfg.model.backbone.init_cfg = None
    cfg.load_from = None
    for head in ('semantic_head', 'affinity_head'):
        decoder = cfg.model[head].decoder
        if decoder.get('aspp_pool_kernel') is not None:
            # the crop-sized ASPP pooling window follows the crop
            decoder.aspp_pool_kernel = (train_size[0] // 16,
                                        train_size[1] // 16)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


class Timer:
    """Seconds of a block, CUDA work included."""

    def __init__(self, device):
        self.cuda = device.type == 'cuda'

    def __enter__(self):
        self._sync()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self._sync()
        self.seconds = time.perf_counter() - self.start

    def _sync(self):
        if self.cuda:
            torch.cuda.synchronize()


def peak_memory_gib(device):
    if device.type != 'cuda':
        return None
    peak = torch.cuda.max_memory_allocated(device) / 2**30
    torch.cuda.reset_peak_memory_stats(device)
    return round(peak, 2)


def train_steps(model, cfg, data, steps, device):
    """``steps`` optimiser steps on one batch; seconds and losses of each."""
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    figures = []
    for _ in range(steps):
        with Timer(device) as timer:
            log_vars = model.train_step(data, optim_wrapper)
        figures.append(
            dict(
                seconds=round(timer.seconds, 3),
                **{k: round(float(v), 4)
                   for k, v in log_vars.items()}))
    return dict(steps=figures, peak_memory_gib=peak_memory_gib(device))


def confident_logits(pan, num_classes, edge_distances, stride, device):
    """Semantic and boundary logits of a network that is sure of the
    scene ``pan`` [H, W] (sampled on its stride grid), as a trained one
    would be: +-4 logits for the class and for each pair's boundary."""
    pan = torch.from_numpy(pan[stride // 2::stride, stride // 2::stride])
    sem = F.one_hot(pan % INSTANCE_OFFSET, num_classes).permute(2, 0, 1)
    boundary = torch.full((len(edge_distances), 2, *pan.shape), -4.)
    for k, d in enumerate(edge_distances):
        boundary[k, 0, :-d] = (pan[:-d] != pan[d:]).float() * 8 - 4
        boundary[k, 1, :, :-d] = (pan[:, :-d] != pan[:, d:]).float() * 8 - 4
    return (sem.float() * 8 - 4)[None].to(device), boundary[None].to(device)


def inference(model, height, width, repeats, device, network=None):
    """Per-image seconds of the predict stages: one warm-up, then the mean
    of ``repeats`` runs. ``network``: replaces the backbone and heads."""
    img, _, _, pan = scene(height, width, seed=7)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(height, width),
            ori_shape=(height, width),
            img_id=0,
            img_path='scene.png'))
    data = dict(
        inputs=[torch.from_numpy(img).permute(2, 0, 1).contiguous()],
        data_samples=[sample])
    model.eval()
    if network == 'confident':
        logits = confident_logits(pan, model.num_classes,
                                  model.edge_distances, model.output_stride,
                                  device)
        model.forward_heads = lambda inputs: logits
    runs = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            result = model.test_step(data)[0]
            runs.append({
                stage: result.metainfo[f'time_{stage}']
                for stage in ('network', 'solver', 'postprocess')
            })
    if network == 'confident':
        del model.forward_heads
    timed = runs[1:] or runs
    figures = {
        stage: round(sum(run[stage] for run in timed) / len(timed), 4)
        for stage in timed[0]
    }
    figures['total'] = round(sum(figures.values()), 4)
    figures['segments'] = len(torch.unique(result.pred_panoptic_seg.sem_seg))
    figures['peak_memory_gib'] = peak_memory_gib(device)
    return figures


def main():
    args = parse_args()
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: no CUDA GPU is visible')
    init_default_scope('mmdet')
    torch.manual_seed(0)
    height, width = args.train_size
    report = dict(
        device=torch.cuda.get_device_name(device)
        if device.type == 'cuda' else 'cpu',
        torch=torch.__version__,
        train_size=[height, width],
        batch_size=args.batch_size,
        test_size=list(args.test_size))

    cfg1 = load_config(STAGE1, args.train_size, args.cfg_options)
    stage1 = MODELS.build(cfg1.model)
    stage1.init_weights()
    stage1.to(device)
    report['stage1'] = train_steps(
        stage1, cfg1,
        training_batch(cfg1, height, width, args.batch_size),
        args.train_steps, device)
    print('stage 1:', json.dumps(report['stage1']), flush=True)

    cfg2 = load_config(STAGE2, args.train_size, args.cfg_options)
    stage2 = MODELS.build(cfg2.model).to(device)
    missing, unexpected = stage2.load_state_dict(
        stage1.state_dict(), strict=False)
    if missing or unexpected:
        raise RuntimeError(f'stage-1 weights do not fit stage 2: missing '
                           f'{missing}, unexpected {unexpected}')
    del stage1
    report['stage2'] = train_steps(
        stage2, cfg2,
        training_batch(cfg2, height, width, args.batch_size),
        args.train_steps, device)
    print('stage 2:', json.dumps(report['stage2']), flush=True)

    test_h, test_w = args.test_size
    for network in ('untrained', 'confident'):
        report[f'inference_{network}'] = inference(stage2, test_h, test_w,
                                                   args.repeats, device,
                                                   network)
        print(f'inference ({network} network), seconds per image:',
              json.dumps(report[f'inference_{network}']), flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
