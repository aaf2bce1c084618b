#!/usr/bin/env bash
# Usage: tools/dist_launch.sh SCRIPT NUM_PROCESSES [script args]
# Starts NUM_PROCESSES copies of tools/SCRIPT with torchrun and --launcher pytorch:
# one process per GPU, or CPU processes with gloo when no GPU is visible.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -euo pipefail
SCRIPT=$1
NPROC=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$ROOT/tools/$SCRIPT" \
    "${@:3}" \
    --launcher pytorch
