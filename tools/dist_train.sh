#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NUM_PROCESSES [train.py args]
set -euo pipefail
exec "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
