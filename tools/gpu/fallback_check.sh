#!/usr/bin/env bash
# GPU machine: the CUDA/CPU target choice end to end (test/e2e/cuda_fallback.py with a usable GPU): a CUDA
# executable runs on the GPU silently, its TSC_DEVICE=cpu path equals a --target cpu --dtype f16 build, and
# tsc's default target is CUDA. Uses the carried build (tools/gpu/pack_carry.sh), like tools/gpu/run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TSC=$PWD/.carry/bin/tsc TSC_LIB_DIR=$PWD/.carry/lib TSC_SOURCE_DIR=$PWD TSC_CACHE_DIR=/tmp/tsc-cache
export TSC_CUDA_ARCHS=${TSC_CUDA_ARCHS:-90} OUT=${OUT:-/tmp/out}
[ -e /usr/local/cuda/lib ] || ln -s /usr/local/cuda/lib64 /usr/local/cuda/lib 2>/dev/null
if ls .carry/lib/libcpp-httplib.so* >/dev/null 2>&1; then
  export LIBRARY_PATH=$PWD/.carry/lib${LIBRARY_PATH:+:$LIBRARY_PATH} LD_LIBRARY_PATH=$PWD/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
python3 test/e2e/cuda_fallback.py --tsc "$TSC" --fixture test/Inputs/fixtures/llama_gqa4_dynamo --workdir /tmp/cuda_fallback 2>&1 | tee "$OUT/cuda_fallback.log"
