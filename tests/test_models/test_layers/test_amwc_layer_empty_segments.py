"""Empty segments: the gradient that re-classes a wrongly classified
instance (``AMWCLayer(empty_segments=True)`` with the PQ surrogate loss)."""
import torch
import torch.nn.functional as F

from projects.cops.models.layers import AMWCLayer
from projects.cops.models.layers.amwc_function import segments_from_solution
from projects.cops.models.losses import PQSurrogateLoss
from projects.cops.models.utils.panoptic_matching import panoptic_regions

SIZE = 16
THING_A, THING_B, STUFF_TOP, STUFF_BOTTOM = 0, 1, 2, 3


def test_segments_from_solution_appends_empty_segments():
    partitionable = torch.tensor([True, True, False, False])
    labels = torch.tensor([[2, 2, 0, 0], [3, 1, 1, 3]])
    clusters = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 0]])
    segment_ids, classes, valid = segments_from_solution(
        labels, clusters, partitionable, 1, empty_segments=True)
    # stuff present, instances, then every thing class and absent stuff
    assert classes.tolist() == [[2, 0, 0, 1, 3], [3, 1, 0, 1, 2]]
    assert valid.all()
    assert segment_ids.tolist() == [[0, 0, 1, 1], [0, 1, 1, 0]]
    plain_ids, plain_classes, _ = segments_from_solution(
        labels, clusters, partitionable, 1)
    assert torch.equal(plain_ids, segment_ids)
    assert plain_classes.tolist() == [[2, 0], [3, 1]]


def train_wrong_class_instance(num_steps, **layer_options):
    """Adam on free costs whose solution labels a class-A instance as B.

    Returns:
        tuple[list[int], list[float]]: per step, the class of the segment
        covering the instance's centre (-1: none) and the loss.
    """
    torch.manual_seed(0)
    semantic = torch.full((SIZE, SIZE), STUFF_TOP)
    semantic[SIZE // 2:] = STUFF_BOTTOM
    semantic[4:12, 4:10] = THING_A
    pan_seg = semantic + 1000 * (semantic == THING_A)
    regions, region_classes = panoptic_regions(pan_seg[None], -1)
    region_areas = torch.bincount(regions.flatten()).float()[None]
    start = semantic.clone()
    start[start == THING_A] = THING_B
    node_costs = -2 * F.one_hot(start, 4).permute(2, 0, 1)[None].float()
    node_costs[:, THING_A] += 1  # A: the costliest class everywhere
    node_costs = torch.nn.Parameter(node_costs +
                                    0.3 * torch.randn(1, 4, SIZE, SIZE))
    edge_costs = torch.nn.Parameter(torch.full((1, 1, 2, SIZE, SIZE), 0.5))
    layer = AMWCLayer(
        2,
        2,
        edge_distances=[1],
        lambda_range=(1000., 5000.),
        num_samples=3,
        baseline='mwc',
        plain_thing_labels=True,
        **layer_options)
    loss_fn = PQSurrogateLoss(2, 2, thing_min_area=10, stuff_min_area=20)
    optimizer = torch.optim.Adam([node_costs, edge_costs], lr=0.05)
    centre_classes, losses = [], []
    for _ in range(num_steps):
        segments = layer(node_costs, edge_costs, regions)
        centre = segments.segment_ids[0, 8, 7]
        centre_classes.append(
            int(segments.classes[0, centre]) if centre >= 0 else -1)
        loss = loss_fn(segments, region_classes, region_areas)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return centre_classes, losses


def test_empty_segments_reclass_a_wrongly_classified_instance():
    # without empty segments the loss only removes the false B instance
    # (its pixels go to the next cheapest class, stuff): the A ground truth
    # is never reached
    classes, _ = train_wrong_class_instance(40)
    assert classes[0] == THING_B
    assert THING_A not in classes, classes
    # with them, the unmatched A ground truth pulls its pixels into class A
    classes, losses = train_wrong_class_instance(40, empty_segments=True)
    assert classes[0] == THING_B
    assert classes[-1] == THING_A, classes
    assert losses[-1] < 0.5 * losses[0]
