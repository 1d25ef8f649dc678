#!/usr/bin/env bash
# Installs what building and testing tsc needs on a fresh Debian 12 machine (apt-get + pip). Idempotent.
# Usage: bash tools/install_deps.sh [--demo]
#   --demo adds what the main job and the model tools need: torch, transformers, gguf and onnxscript (torch's
#   dynamo ONNX exporter) for tools/get_smollm2.py and test/gen/make_fixtures.py, matplotlib for the report scripts.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_PKGS=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler libprotobuf-dev          # ONNX's schema is compiled with protoc
  libgtest-dev libgmock-dev                  # unit tests
  llvm-19-tools clang-19 libclang-rt-19-dev  # FileCheck/not for lit tests; clang + libFuzzer for the fuzz test;
                                             # clang-19 also compiles CUDA kernels (--cuda-compiler clang, lit PTX tests)
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libicu-dev
  nginx                                      # e2e.server.nginx: two model_servers behind nginx (docs/DEPLOY.md)
)
missing=()
for p in "${APT_PKGS[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PY=${PYTHON:-python3}
PIP_PKGS=(onnx onnxruntime numpy tokenizers openai prometheus_client lit jinja2)
if [ "${1:-}" = "--demo" ]; then PIP_PKGS+=(torch transformers accelerate gguf onnxscript matplotlib); fi
echo "==> pip install ${PIP_PKGS[*]}"
$PY -m pip install -q --disable-pip-version-check "${PIP_PKGS[@]}" 2>&1 | grep -v "Running pip as the 'root' user" || true
