#!/usr/bin/env bash
# Entry point on the GPU machine: uses the carried build (.carry: tsc + runtime libraries built on the dev
# machine with -DTSC_WITH_ICU=OFF), then runs tools/gpu/check.py with its arguments. The GPU machine has no
# cpp-httplib and no openai package: a server build carries Debian's libcpp-httplib.so (+ brotli) in .carry/lib,
# the serve stage the openai wheels in .carry/wheels and a 32k-token tokenizer.json in .carry/tokenizer.
set -uo pipefail
cd "$(dirname "$0")/../.."
export TSC=$PWD/.carry/bin/tsc TSC_LIB_DIR=$PWD/.carry/lib TSC_SOURCE_DIR=$PWD TSC_CACHE_DIR=/tmp/tsc-cache
export TSC_CUDA_ARCHS=${TSC_CUDA_ARCHS:-90} PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/out}
[ -e /usr/local/cuda/lib ] || ln -s /usr/local/cuda/lib64 /usr/local/cuda/lib 2>/dev/null
if ls .carry/lib/libcpp-httplib.so* >/dev/null 2>&1; then
  export LIBRARY_PATH=$PWD/.carry/lib${LIBRARY_PATH:+:$LIBRARY_PATH} LD_LIBRARY_PATH=$PWD/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if [ -d .carry/wheels ]; then
  python3 -m pip install -q --no-index --find-links .carry/wheels --target /tmp/pylib openai && export TSC_PYLIB=/tmp/pylib
fi
[ -f .carry/tokenizer/tokenizer.json ] && export TSC_SERVE_TOKENIZER=$PWD/.carry/tokenizer
# A baseline source tree (e.g. `git archive HEAD~ templates runtime compiler`) for same-run A/B timings.
# (TSC_BASE_SOURCE_DIR= on the command line turns it off.)
[ -d .carry/base-src/templates ] && export TSC_BASE_SOURCE_DIR=${TSC_BASE_SOURCE_DIR-$PWD/.carry/base-src}
# An older commit's tsc and runtime libraries beside its sources (tools/gpu/pack_base.sh): a whole-build A/B.
if [ -x .carry/base-bin/tsc ] && [ -n "${TSC_BASE_SOURCE_DIR:-}" ]; then
  export TSC_BASE_TSC=$PWD/.carry/base-bin/tsc TSC_BASE_LIB_DIR=$PWD/.carry/base-lib
fi
python3 tools/gpu/check.py "$@" 2>&1 | tee -a "$OUT/run.log"
