"""mmdet's panoptic quality metric without its side effect on the outputs,
with per-image PQ and a choice of PQ backend (panopticapi or hotcoco)."""
import csv
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.fileio import dump
from mmengine.logging import MMLogger
from panopticapi.evaluation import PQStat

from mmdet.evaluation import CocoPanopticMetric
from mmdet.registry import METRICS

BACKENDS = ('hotcoco', 'panopticapi')
# key suffix of the per-image scores of all / thing / stuff categories
PER_IMAGE_GROUPS = (('', None), ('_th', True), ('_st', False))


def _percent(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.2f}'


def _with_own_panoptic_map(sample: dict) -> dict:
    """A shallow copy of ``sample`` whose ``pred_panoptic_seg.sem_seg`` is a
    copy on the CPU.

    mmdet's ``CocoPanopticMetric._parse_predictions`` writes VOID (0) into
    ``pred_panoptic_seg.sem_seg.cpu().numpy()``; for a CPU tensor that array
    is the model's output itself, so the ``--out`` pickle, ``--show-dir``
    images and the visualization hook, which read the same data samples after
    the evaluator, would show a class-0 segment where the model predicted
    void. A GPU tensor is copied by ``.cpu()`` already.
    """
    panoptic = sample['pred_panoptic_seg']
    seg = panoptic['sem_seg']
    seg = seg.clone() if seg.device.type == 'cpu' else seg.cpu()
    return {**sample, 'pred_panoptic_seg': {**panoptic, 'sem_seg': seg}}


@METRICS.register_module()
class COPSPanopticMetric(CocoPanopticMetric):
    """:class:`mmdet.evaluation.CocoPanopticMetric` (same arguments, keys
    ``coco_panoptic/PQ`` ...) that leaves the data samples it evaluates
    untouched, keeps PQ / SQ / RQ per image and can match the segments with
    hotcoco instead of panopticapi.

    Per image (without ``outfile_prefix``, mmdet's default mode, which
    matches every image as it comes): PQ, SQ, RQ of all, thing and stuff
    categories (averaged over the categories present in the image's ground
    truth or prediction; None where there is none), in percent. The
    ``num_worst`` images of lowest PQ are logged; with ``per_image_prefix``
    all are written to ``<prefix>.json`` and ``<prefix>.csv``
    (``tools/test.py`` sets it to ``<work_dir>/<timestamp>/per_image_pq``).

    Args:
        backend (str): ``'hotcoco'`` (hotcoco's ``PanopticEval``, Rust; the
            same numbers as panopticapi, ``docs/evaluation.md``) or
            ``'panopticapi'`` (mmdet's ``pq_compute_single_core``). hotcoco
            needs ``ann_file``. With ``outfile_prefix`` the metric is
            mmdet's (panopticapi at the end, no per-image scores).
        num_worst (int): Number of lowest-PQ images to log.
        per_image_prefix (str, optional): Path prefix of the per-image
            JSON and CSV files; None writes none.
        **kwargs: Arguments of ``CocoPanopticMetric``.
    """

    def __init__(self,
                 backend: str = 'hotcoco',
                 num_worst: int = 10,
                 per_image_prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)  # first: mmdet's __del__ reads tmp_dir
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}')
        if backend == 'hotcoco':
            if self._coco_api is None:
                raise ValueError("backend='hotcoco' needs ann_file (or use "
                                 "backend='panopticapi')")
            try:
                from hotcoco.panoptic import PanopticEval
            except ImportError as error:
                raise ImportError(
                    "backend='hotcoco' needs hotcoco (pip install -r "
                    "requirements/runtime.txt), or use "
                    "backend='panopticapi'") from error
            self._panoptic_eval = PanopticEval
        self.backend = backend
        self.num_worst = num_worst
        self.per_image_prefix = per_image_prefix

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Match the segments of a copy of each predicted panoptic map
        ``[1, H, W]``; keep ``(per-image record, PQStat)`` per image."""
        samples = [_with_own_panoptic_map(s) for s in data_samples]
        if self.tmp_dir is None:  # outfile_prefix: mmdet matches at the end
            super().process(data_batch, samples)
            return
        for sample in samples:
            if self.backend == 'hotcoco':
                stat = self._hotcoco_pq_stat(sample)
            else:
                super().process(data_batch, [sample])
                stat = self.results.pop()
            self.results.append((self._image_record(sample, stat), stat))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """mmdet's PQ over all images; logs (and writes) the per-image PQ."""
        if self.tmp_dir is None:
            return super().compute_metrics(results)
        records = [record for record, _ in results]
        metrics = super().compute_metrics([stat for _, stat in results])
        self._report_per_image(records)
        return metrics

    def _categories(self) -> dict:
        """Category id -> ``{'id', 'name', 'isthing'}``: the annotation
        file's, else the dataset classes with their labels as ids (as
        mmdet's metric does)."""
        if self._coco_api is not None:
            return self._coco_api.cats
        things = set(self.dataset_meta['thing_classes'])
        return {
            label: dict(id=label, name=name, isthing=int(name in things))
            for label, name in enumerate(self.dataset_meta['classes'])
        }

    def _hotcoco_pq_stat(self, sample: dict) -> PQStat:
        """Write the prediction PNG as mmdet does and match it against the
        ground truth with hotcoco; its per-category counts as a PQStat."""
        img_id = sample['img_id']
        segm_file = osp.basename(sample['img_path']).replace('.jpg', '.png')
        cat_ids = self._coco_api.get_cat_ids(
            cat_names=self.dataset_meta['classes'])
        pred = self._parse_predictions(
            pred=sample,
            img_id=img_id,
            segm_file=segm_file,
            label2cat=dict(enumerate(cat_ids)))
        height, width = sample['ori_shape'][:2]
        gt = dict(
            images=[
                dict(
                    id=img_id, file_name=segm_file, height=height,
                    width=width)
            ],
            annotations=[
                dict(
                    image_id=img_id,
                    file_name=segm_file,
                    segments_info=self._coco_api.imgToAnns[img_id])
            ],
            categories=list(self._coco_api.cats.values()))
        evaluation = self._panoptic_eval(
            gt,
            dict(annotations=[pred]),
            gt_folder=self.seg_prefix,
            pred_folder=self.seg_out_dir)
        evaluation.evaluate()
        stat = PQStat()
        for cat_id, counts in evaluation.results()['per_class'].items():
            entry = stat[int(cat_id)]
            entry.iou, entry.tp = counts['iou'], counts['tp']
            entry.fp, entry.fn = counts['fp'], counts['fn']
        return stat

    def _image_record(self, sample: dict, stat: PQStat) -> dict:
        """PQ / SQ / RQ (percent; None without categories) of one image."""
        record = dict(img_id=sample['img_id'], img_path=sample['img_path'])
        categories = self._categories()
        for suffix, isthing in PER_IMAGE_GROUPS:
            try:
                average, _ = stat.pq_average(categories, isthing=isthing)
            except ZeroDivisionError:  # no category of the group in the image
                average = dict(pq=None, sq=None, rq=None)
            for score in ('pq', 'sq', 'rq'):
                value = average[score]
                record[score.upper() + suffix] = (None if value is None else
                                                  100 * value)
        return record

    def _report_per_image(self, records: List[dict]) -> None:
        """Log the ``num_worst`` lowest-PQ images; write the JSON and CSV."""
        logger = MMLogger.get_current_instance()
        ranked = sorted((r for r in records if r['PQ'] is not None),
                        key=lambda r: r['PQ'])
        lines = [
            ' '.join(f'{_percent(r[key]):>7}'
                     for key in ('PQ', 'PQ_th', 'PQ_st')) +
            f'  {r["img_path"]}' for r in ranked[:self.num_worst]
        ]
        logger.info(f'the {len(lines)} images of lowest PQ (PQ, PQ_th, PQ_st,'
                    ' image):\n' + '\n'.join(lines))
        if self.per_image_prefix is None:
            return
        dump(records, f'{self.per_image_prefix}.json', indent=1)
        with open(f'{self.per_image_prefix}.csv', 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
        logger.info(f'per-image PQ of {len(records)} images: '
                    f'{self.per_image_prefix}.json, .csv')
