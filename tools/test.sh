#!/usr/bin/env bash
# Sets up a fresh machine, builds tsc and runs every test (ctest: unit, lit, end-to-end; plus a short
# deterministic fuzz run of the ONNX importer under ASan/UBSan: TSC_FUZZ_RUNS inputs from seed 1).
# Usage: bash tools/test.sh [--no-fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
export TSC_CACHE_DIR="$PWD/build/tsc-cache"   # compiled kernels, shared by the tests
(cd build && ctest --output-on-failure -j "$(nproc)")
if [ "${1:-}" != "--no-fuzz" ] && [ -x test/fuzz/run_fuzz.sh ]; then
  bash test/fuzz/run_fuzz.sh --runs "${TSC_FUZZ_RUNS:-15000}"
fi
echo "==> all tests passed"
