"""COPS inference and the stage-2 loss on every available device, and the
host synchronisations they make (none per pixel)."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from test_cops_detector import batch, tiny_cops
from test_cops_end_to_end import tiny_end_to_end
from torch.overrides import TorchFunctionMode

# Tensor methods and functions that read device memory on the host (a CUDA
# synchronisation each) or whose output size depends on the data.
HOST_READS = {
    '__bool__', '__int__', '__float__', '__index__', '__array__', 'item',
    'tolist', 'cpu', 'numpy', 'nonzero', 'argwhere', 'unique',
    'unique_consecutive', 'masked_select'
}


class CountCalls(TorchFunctionMode):
    """Counts every torch call and the host reads among them."""

    def __init__(self):
        super().__init__()
        self.calls = 0
        self.host_reads = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        self.host_reads += getattr(func, '__name__', '') in HOST_READS
        return func(*args, **(kwargs or {}))


def prediction_tensors(sample):
    return {
        'pan_seg': sample.pred_panoptic_seg.sem_seg,
        'sem_seg': sample.pred_sem_seg.sem_seg,
        'masks': sample.pred_instances.masks,
        'labels': sample.pred_instances.labels,
        'scores': sample.pred_instances.scores,
        'bboxes': sample.pred_instances.bboxes,
        'cut': sample.pred_boundaries.cut,
    }


def test_predict_results_on_the_model_device(device):
    model = tiny_cops(instance_min_area=4, stuff_min_area=4).eval()
    model.to(device)
    data = batch(model, [2, 3], training=False)
    assert data['inputs'].device == device
    with torch.no_grad():
        samples = model(**data, mode='predict')
    for sample in samples:
        for name, tensor in prediction_tensors(sample).items():
            assert tensor.device == device, name
        for stage in ('network', 'solver', 'postprocess'):
            assert sample.metainfo[f'time_{stage}'] > 0
    if device.type == 'cpu':
        return
    # the same network on the CPU gives (nearly) the same panoptic maps:
    # float results of the two devices differ in the last bits only
    cpu_model = tiny_cops(instance_min_area=4, stuff_min_area=4).eval()
    cpu_data = batch(cpu_model, [2, 3], training=False)
    with torch.no_grad():
        cpu_samples = cpu_model(**cpu_data, mode='predict')
    for sample, cpu_sample in zip(samples, cpu_samples):
        same = (sample.pred_sem_seg.sem_seg.cpu() ==
                cpu_sample.pred_sem_seg.sem_seg).float().mean()
        assert same > 0.99


def test_predict_under_mixed_precision(device):
    """``--amp`` / autocast: half-float logits reach the solver as float32
    and give the same panoptic maps as full precision, up to the pixels
    where rounding changes a decision."""
    model = tiny_cops(instance_min_area=4, stuff_min_area=4).eval()
    model.to(device)
    data = batch(model, [2], training=False)
    half = torch.bfloat16 if device.type == 'cpu' else torch.float16
    with torch.no_grad():
        full = model(**data, mode='predict')[0]
        with torch.autocast(device.type, dtype=half):
            mixed = model(**data, mode='predict')[0]
    assert mixed.pred_instances.scores.dtype == torch.float32
    same = (mixed.pred_sem_seg.sem_seg == full.pred_sem_seg.sem_seg).float()
    assert same.mean() > 0.9


def test_stage_two_loss_and_gradients_on_the_model_device(device):
    model = tiny_end_to_end().train().to(device)
    data = batch(model, [0, 1], training=True)
    losses = model(**data, mode='loss')
    assert losses['loss_pq'].device == device
    assert torch.isfinite(losses['loss_pq'])
    losses['loss_pq'].backward()
    grads = [
        param.grad for param in model.cost_head.parameters()
        if param.grad is not None
    ]
    assert grads and all(grad.device == device for grad in grads)
    assert any(grad.abs().sum() > 0 for grad in grads)


def test_stage_two_loss_under_mixed_precision(device):
    model = tiny_end_to_end().train().to(device)
    data = batch(model, [0, 1], training=True)
    half = torch.bfloat16 if device.type == 'cpu' else torch.float16
    with torch.autocast(device.type, dtype=half):
        loss = model(**data, mode='loss')['loss_pq']
    loss.backward()
    assert torch.isfinite(loss)
    assert model.cost_head.node_scale.grad is not None


# A panoptic layout on an 8 x 8 grid: two stuff halves (classes 2, 3) and
# two touching instances of thing class 0; scaled up by an integer factor
# it is the same scene at a higher resolution.
LAYOUT = np.array([[2, 2, 2, 2, 3, 3, 3, 3]] * 8)
LAYOUT[1:4, 1:3] = 1000  # class 0, instance 1
LAYOUT[1:4, 3:5] = 2000  # class 0, instance 2
NUM_CLASSES = 4


def fabricated_logits(scale, edge_distances):
    """Semantic and boundary logits that make ``LAYOUT`` scaled by
    ``scale`` the AMWC solution (confident classes and boundaries)."""
    pan = torch.from_numpy(np.kron(LAYOUT, np.ones((scale, scale), int)))
    classes = pan % 1000
    sem = torch.nn.functional.one_hot(classes, NUM_CLASSES).permute(
        2, 0, 1).float() * 8 - 4
    height, width = pan.shape
    boundary = torch.full((len(edge_distances), 2, height, width), -4.)
    for k, d in enumerate(edge_distances):
        boundary[k, 0, :-d] = (pan[:-d] != pan[d:]).float() * 8 - 4
        boundary[k, 1, :, :-d] = (pan[:, :-d] != pan[:, d:]).float() * 8 - 4
    return sem[None], boundary[None], pan


def samples_for(pan, stride):
    height, width = pan.shape
    shape = (height * stride, width * stride)
    sample = DetDataSample(metainfo=dict(
        img_shape=shape, ori_shape=shape, batch_input_shape=shape))
    sample.gt_instances = InstanceData()
    return [sample]


def count_predict(scale):
    model = tiny_cops(instance_min_area=0, stuff_min_area=0).eval()
    sem, boundary, pan = fabricated_logits(scale, model.edge_distances)
    model.forward_heads = lambda inputs: (sem, boundary)
    samples = samples_for(pan, model.output_stride)
    inputs = torch.zeros(1, 3, *samples[0].metainfo['img_shape'])
    with torch.no_grad(), CountCalls() as counter:
        sample = model.predict(inputs, samples)[0]
    assert len(sample.pred_instances) == 2  # the scene was found
    return counter


def count_loss(scale):
    model = tiny_end_to_end().train()
    sem, boundary, pan = fabricated_logits(scale, model.edge_distances)
    sem.requires_grad_(), boundary.requires_grad_()
    model.forward_heads = lambda inputs: (sem, boundary)
    targets = dict(
        pan_seg=pan[None], boundary_weights=torch.ones_like(boundary))
    model.stack_targets = lambda samples, grid_shape: targets
    model.cost_head.dropout_ratio = 0.
    samples = samples_for(pan, model.output_stride)
    inputs = torch.zeros(1, 3, *samples[0].metainfo['img_shape'])
    torch.manual_seed(0)
    with CountCalls() as counter:
        loss = model.loss(inputs, samples)['loss_pq']
        loss.backward()
    assert sem.grad is not None
    return counter


@pytest.mark.parametrize('count', [count_predict, count_loss])
def test_no_host_synchronisation_per_pixel(count):
    """The same scene at 4x the pixels makes exactly the same torch calls:
    no Python loop or host read runs per pixel, so on a GPU the
    synchronisations per batch do not grow with the image."""
    small, large = count(2), count(4)
    assert small.host_reads > 0
    assert (large.calls, large.host_reads) == (small.calls, small.host_reads)
