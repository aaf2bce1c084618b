"""Re-seed torch's generator every iteration so that resuming is exact."""
import numpy as np
import torch
from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Seed torch's global generator from ``(runner.seed, iteration)``
    before each training iteration.

    mmengine checkpoints hold no random-generator state, so after
    ``--resume`` the model-side randomness (dropout, sampled perturbations)
    would continue from a freshly seeded generator and the resumed run would
    drift from an uninterrupted one. With this hook the torch draws of
    iteration ``i`` depend only on the run's seed and ``i``. Data-side
    randomness (numpy / ``random`` in the transforms) needs no hook: on
    resume mmengine's ``IterBasedTrainLoop`` re-reads the already trained
    batches, replaying their draws.

    ``runner.seed`` already includes the rank when ``randomness`` asks for
    ``diff_rank_seed``. Priority ``HIGHEST`` so it runs before any hook that
    might draw.
    """

    priority = 'HIGHEST'

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        seed_sequence = np.random.SeedSequence([runner.seed, runner.iter])
        torch.manual_seed(int(seed_sequence.generate_state(1)[0]))
