#!/usr/bin/env bash
# Entry point on the GPU machine: uses the carried build (.carry: tsc + runtime libraries built on the dev
# machine with -DTSC_WITH_SERVER=OFF -DTSC_WITH_ICU=OFF), then runs tools/gpu/check.py with its arguments.
set -uo pipefail
cd "$(dirname "$0")/../.."
export TSC=$PWD/.carry/bin/tsc TSC_LIB_DIR=$PWD/.carry/lib TSC_SOURCE_DIR=$PWD TSC_CACHE_DIR=/tmp/tsc-cache
export TSC_CUDA_ARCHS=${TSC_CUDA_ARCHS:-90} PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/out}
[ -e /usr/local/cuda/lib ] || ln -s /usr/local/cuda/lib64 /usr/local/cuda/lib 2>/dev/null
python3 tools/gpu/check.py "$@" 2>&1 | tee "$OUT/run.log"
