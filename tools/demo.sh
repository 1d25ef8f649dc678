#!/usr/bin/env bash
# The main job on a fresh machine: install, build tsc, obtain the real SmolLM2-135M-Instruct model,
# compile it into one executable and generate text. Usage: bash tools/demo.sh ["your prompt"]
# tsc builds for the GPU where one is usable, else for the CPU (its first output line says which and why).
# A build folder that exists (e.g. from tools/test.sh) is reused as configured.
set -euo pipefail
cd "$(dirname "$0")/.."
PROMPT=${1:-"The three most important things to know about the ocean are"}
PY=${PYTHON:-python3}   # the interpreter install_deps.sh installs into (PYTHON=/path/to/venv/bin/python)
export TQDM_DISABLE=1 HF_HUB_DISABLE_PROGRESS_BARS=1   # no progress bars in logs (CI prints this job)
echo "==> [1/4] installing build and model dependencies (apt-get, pip: torch, transformers, onnxscript)"
bash tools/install_deps.sh --demo
echo "==> [2/4] building tsc"
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSC_BUILD_TESTS=OFF -DPython3_EXECUTABLE="$(command -v "$PY")" >/dev/null
fi
cmake --build build -j "$(nproc)"
echo "==> [3/4] fetching SmolLM2-135M-Instruct and exporting it to ONNX (first run ~2-5 min)"
"$PY" tools/get_smollm2.py --no-generate
MODEL=models/cache/smollm2-135m-instruct
echo "==> [4/4] compiling $MODEL/model.onnx with tsc"
./build/bin/tsc "$MODEL/model.onnx" -o build/smollm2_server -v 2>&1 | grep -E "^tsc: (import|simplify|lift|plan|weights|codegen|compile|compiling|link|package|wrote|target) "
echo "==> generating"
./build/smollm2_server generate --prompt "$PROMPT" -n 64
