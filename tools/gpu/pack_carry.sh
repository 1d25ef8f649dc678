#!/usr/bin/env bash
# Packs what the GPU machine needs from this machine into .carry/ (run here, then `run` with carry [".carry"]):
# tsc and the runtime libraries built here (build-gpu: Release, server on, no ICU, which that machine lacks),
# Debian's cpp-httplib + brotli shared libraries for the server build, and a baseline source tree of REF
# (default HEAD) in .carry/base-src for same-run A/B timings (tools/gpu/run.sh uses it when present).
# .carry/wheels (openai client) and .carry/tokenizer are left as they are.
# Usage: bash tools/gpu/pack_carry.sh [REF]
set -euo pipefail
cd "$(dirname "$0")/../.."
REF=${1:-HEAD}
if [ ! -f build-gpu/CMakeCache.txt ]; then
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSC_WITH_SERVER=ON -DTSC_WITH_ICU=OFF
fi
# Only tsc and the runtime libraries it links into executables (the tests are not needed there).
ninja -C build-gpu -j"$(nproc)" bin/tsc $(ninja -C build-gpu -t targets all | grep -E '^lib/.*\.a:' | cut -d: -f1)
mkdir -p .carry/bin .carry/lib
cp build-gpu/bin/tsc .carry/bin/
rm -f .carry/lib/*.a
cp build-gpu/lib/*.a build-gpu/lib/tsc_*.link .carry/lib/
for l in libcpp-httplib.so.0.11 libbrotlicommon.so.1 libbrotlidec.so.1 libbrotlienc.so.1; do
  cp -L "/usr/lib/x86_64-linux-gnu/$l" .carry/lib/
done
ln -sf libcpp-httplib.so.0.11 .carry/lib/libcpp-httplib.so
rm -rf .carry/base-src && mkdir -p .carry/base-src
src_paths="templates runtime compiler tools/gpu/attn_bench.cu"
git cat-file -e "$REF:contract" 2>/dev/null && src_paths="contract $src_paths"  # the contract/ module, where REF has it
git archive "$REF" $src_paths | tar -x -C .carry/base-src
du -sh .carry
