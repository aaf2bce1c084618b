"""mmdet's ``DetInferencer`` for COPS configs, with the COPS result images."""
import os.path as osp
from typing import List, Optional

import mmcv
import numpy as np
from mmengine.fileio import get

from mmdet.apis import DetInferencer
from mmdet.structures import DetDataSample
from projects.cops_runtime.utils import register_checkpoint_safe_globals
from ..visualization import boundary_images, semantic_colour_map


class COPSInferencer(DetInferencer):
    """:class:`mmdet.apis.DetInferencer` for the COPS configs.

    Same arguments and call as ``DetInferencer`` (visualisations in
    ``out_dir/vis``, JSON and panoptic PNG predictions in ``out_dir/preds``;
    plain ``DetInferencer`` works with the COPS configs too, after
    :func:`register_checkpoint_safe_globals`) plus
    ``save_result_images=True``, which also writes, per image, under
    ``out_dir/result_images``: ``<name>_panoptic.png`` (panoptic overlay by
    mmdet's ``DetLocalVisualizer``), ``<name>_semantic.png``
    (``pred_sem_seg`` in the dataset palette) and
    ``<name>_boundary_d<offset>.png`` per edge offset (white = edge cut by
    the AMWC solution, from ``pred_boundaries``), the original COPS
    ``MODEL.SAVE_RESULT_IMAGES``.
    """

    visualize_kwargs = DetInferencer.visualize_kwargs | {'save_result_images'}

    def __init__(self, *args, **kwargs) -> None:
        # the weights are loaded here; runner checkpoints need the allow-list
        register_checkpoint_safe_globals()
        super().__init__(*args, **kwargs)

    def visualize(self,
                  inputs: list,
                  preds: List[DetDataSample],
                  save_result_images: bool = False,
                  img_out_dir: str = '',
                  **kwargs) -> Optional[List[np.ndarray]]:
        """mmdet's visualisation, then the result images when asked."""
        visualisations = super().visualize(
            inputs, preds, img_out_dir=img_out_dir, **kwargs)
        if save_result_images:
            if not img_out_dir:
                raise ValueError('save_result_images needs an out_dir')
            # array inputs are named by their number, as in vis/
            first_number = self.num_visualized_imgs - len(inputs)
            for number, (single_input,
                         pred) in enumerate(zip(inputs, preds), first_number):
                name = osp.splitext(osp.basename(single_input))[0] \
                    if isinstance(single_input, str) else f'{number:08d}'
                self.save_result_images(
                    single_input, pred,
                    osp.join(img_out_dir, 'result_images', name))
        return visualisations

    def save_result_images(self, single_input, pred: DetDataSample,
                           prefix: str) -> None:
        """Write the panoptic, semantic and boundary images of one input.

        Args:
            single_input (str | np.ndarray): image path or RGB array.
            pred (DetDataSample): with ``pred_panoptic_seg``,
                ``pred_sem_seg`` and ``pred_boundaries``.
            prefix (str): output path without the ``_<kind>.png`` ending.
        """
        missing = [
            key
            for key in ('pred_panoptic_seg', 'pred_sem_seg', 'pred_boundaries')
            if key not in pred
        ]
        if missing:
            raise ValueError(
                f'the model output has no {missing}: result images need a '
                'COPS detector')
        img = mmcv.imfrombytes(get(single_input), channel_order='rgb') \
            if isinstance(single_input, str) else single_input
        self.visualizer.add_datasample(
            osp.basename(prefix),
            img,
            DetDataSample(pred_panoptic_seg=pred.pred_panoptic_seg),
            draw_gt=False,
            out_file=prefix + '_panoptic.png')
        semantic = semantic_colour_map(pred.pred_sem_seg.sem_seg[0].cpu(),
                                       self.model.dataset_meta['palette'])
        mmcv.imwrite(mmcv.rgb2bgr(semantic), prefix + '_semantic.png')
        boundaries = boundary_images(pred.pred_boundaries,
                                     pred.metainfo['img_shape'],
                                     pred.metainfo['ori_shape'])
        for distance, boundary in zip(pred.pred_boundaries.edge_distances,
                                      boundaries):
            mmcv.imwrite(boundary, f'{prefix}_boundary_d{distance}.png')
