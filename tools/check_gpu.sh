#!/usr/bin/env bash
# Usage: tools/check_gpu.sh [--device cuda|cuda:N|cpu] [check_gpu.py args]
# The GPU check of docs/gpu.md, under 5 minutes on one GPU:
#   1. the device tests on CUDA (pytest tests/test_devices -k cuda);
#   2. tools/analysis_tools/check_gpu.py: one stage-1 and one stage-2
#      training step of the r50 Cityscapes configs at 512 x 1024, batch 2,
#      and 1024 x 2048 inference with the per-image seconds of network,
#      solver and post-processing, on data it fabricates.
# Figures are printed and written to ${OUT:-work_dirs/check_gpu}/figures.json.
# --device cpu skips step 1 and checks the script itself (slow on a CPU:
# pass smaller --train-size / --test-size).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
OUT=${OUT:-work_dirs/check_gpu}
mkdir -p "$OUT"

DEVICE=cuda
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ ${args[i]} == --device ]]; then DEVICE=${args[i + 1]:-}; fi
done

if [[ $DEVICE == cuda* ]]; then
    python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU visible to torch')"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
    echo "== 1/2 device tests on CUDA"
    python -m pytest tests/test_devices -k cuda -q -rs
else
    echo "== 1/2 device tests skipped (--device $DEVICE)"
fi
echo "== 2/2 training steps and inference timing on $DEVICE"
python tools/analysis_tools/check_gpu.py --device "$DEVICE" "$@" \
    --out "$OUT/figures.json"
echo "figures: $OUT/figures.json"
