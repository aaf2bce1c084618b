"""PQ surrogate loss under DDP (gloo, CPU): 2 processes with B images each
compute the loss and the gradients of 1 process with 2 B images."""
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from dense_segments import dense_segments

from projects.cops.models.losses import PQSurrogateLoss

BATCH = 2  # per process


def random_batch(num_images):
    """Hard random masks of 3 classes (thing 0, stuff 1, 2), 8 x 8."""
    generator = torch.Generator().manual_seed(0)
    maps = torch.randint(0, 5, (num_images, 8, 8), generator=generator)
    pred_maps = torch.randint(0, 5, (num_images, 8, 8), generator=generator)
    classes = torch.tensor([0, 0, 0, 1, 2])
    ids = torch.arange(5)[:, None, None]
    gt_masks = [m[None] == ids for m in maps]
    pred_masks = (pred_maps[:, None] == ids).float()
    return (pred_masks, classes.expand(num_images, -1),
            torch.ones(num_images, 5, dtype=torch.bool), gt_masks,
            [classes] * num_images)


def loss_and_grad(masks, *rest):
    masks = masks.clone().requires_grad_()
    loss = PQSurrogateLoss(1, 2, thing_min_area=4, stuff_min_area=8)(
        *dense_segments(masks, *rest))
    loss.backward()
    return loss.detach(), masks.grad


def run_rank(rank, init_file, out_dir):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    masks, classes, valid, gt_masks, gt_classes = random_batch(2 * BATCH)
    part = slice(rank * BATCH, (rank + 1) * BATCH)
    loss, grad = loss_and_grad(masks[part], classes[part], valid[part],
                               gt_masks[part], gt_classes[part])
    torch.save((loss, grad), f'{out_dir}/rank{rank}.pth')
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_equal_one_with_the_whole_batch(tmp_path):
    mp.spawn(
        run_rank, args=(str(tmp_path / 'init'), str(tmp_path)), nprocs=2)
    expected_loss, expected_grad = loss_and_grad(*random_batch(2 * BATCH))
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    for rank, (loss, grad) in enumerate(ranks):
        assert torch.allclose(loss, expected_loss)
        assert torch.allclose(grad,
                              expected_grad[rank * BATCH:(rank + 1) * BATCH])
    # per-process sums would give another loss
    alone, _ = loss_and_grad(*[x[:BATCH] for x in random_batch(2 * BATCH)])
    assert not torch.allclose(alone, expected_loss)
