#!/usr/bin/env bash
# The main job on the embedded synthetic data (`make demo`):
#   1. generate the synthetic panoptic dataset (COCO panoptic format),
#   2. stage 1: pretrain the network (semantic + boundary losses),
#   3. stage 2: train end to end through the AMWC solver with the PQ loss,
#   4. evaluate both stages (PQ from mmdet's CocoPanopticMetric),
#   5. run the image demo on a few val images and write PNG overlays.
# WORK_DIR (default work_dirs/demo) holds checkpoints, logs and the PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=data/synthetic
WORK=${WORK_DIR:-work_dirs/demo}
PRETRAIN_CFG=configs/cops_r18_synthetic_pretrain.py
END2END_CFG=configs/cops_r18_synthetic.py

python tools/dataset_converters/make_synthetic_panoptic.py --out "$DATA"

python tools/train.py "$PRETRAIN_CFG" --work-dir "$WORK/pretrain"
PRETRAIN_CKPT=$(cat "$WORK/pretrain/last_checkpoint")
python tools/test.py "$PRETRAIN_CFG" "$PRETRAIN_CKPT" --work-dir "$WORK/pretrain_test"

python tools/train.py "$END2END_CFG" --work-dir "$WORK/end_to_end" \
    --cfg-options load_from="$PRETRAIN_CKPT"
END2END_CKPT=$(cat "$WORK/end_to_end/last_checkpoint")
python tools/test.py "$END2END_CFG" "$END2END_CKPT" --work-dir "$WORK/end_to_end_test"

mkdir -p "$WORK/demo_images"
cp "$DATA"/val/00000[1-4].png "$WORK/demo_images/"
python demo/image_demo.py "$WORK/demo_images" "$END2END_CFG" \
    --weights "$END2END_CKPT" --out-dir "$WORK/vis"

echo
echo "== PQ on the synthetic val split =="
for stage in pretrain end_to_end; do
    log=$(ls -t "$WORK/${stage}_test"/*/*.log | head -n 1)
    echo "$stage: $(grep -o 'coco_panoptic/PQ: [0-9.]*  coco_panoptic/SQ: [0-9.]*  coco_panoptic/RQ: [0-9.]*  coco_panoptic/PQ_th: [0-9.]*.*coco_panoptic/PQ_st: [0-9.]*' "$log" | tail -n 1)"
done
echo "visualisations: $WORK/vis/vis"
