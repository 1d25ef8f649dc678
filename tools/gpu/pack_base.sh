#!/usr/bin/env bash
# Packs an older commit's whole build for a same-run A/B on the GPU machine (tools/gpu/check.py's decode stage):
# its tsc in .carry/base-bin, its runtime libraries in .carry/base-lib and its sources in .carry/base-src, built
# in a detached worktree (Release, server on, ICU off, as tools/gpu/pack_carry.sh builds this tree).
# Usage: bash tools/gpu/pack_base.sh REF [WORKTREE]   (WORKTREE default /tmp/tsc-base-REF; kept for reuse)
set -euo pipefail
cd "$(dirname "$0")/../.."
REF=${1:?usage: pack_base.sh REF [WORKTREE]}
WT=${2:-/tmp/tsc-base-$REF}
[ -d "$WT" ] || git worktree add -q --detach "$WT" "$REF"
if [ ! -f "$WT/build-gpu/CMakeCache.txt" ]; then
  cmake -S "$WT" -B "$WT/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSC_WITH_SERVER=ON -DTSC_WITH_ICU=OFF
fi
# tsc and the runtime libraries its executables link (the compiler's own libraries stay behind: carry is small).
ninja -C "$WT/build-gpu" -j"$(nproc)" bin/tsc $(ninja -C "$WT/build-gpu" -t targets all | grep -E '^lib/.*\.a:' | cut -d: -f1)
rm -rf .carry/base-bin .carry/base-lib .carry/base-src && mkdir -p .carry/base-bin .carry/base-lib .carry/base-src
cp "$WT/build-gpu/bin/tsc" .carry/base-bin/
for f in "$WT"/build-gpu/lib/*.a "$WT"/build-gpu/lib/tsc_*.link; do
  case $(basename "$f") in libtsc_codegen.a|libtsc_driver.a|libtsc_ir.a|libtsc_lift.a|libtsc_onnx.a|libtsc_onnx_proto.a|libtsc_plan.a) ;;
    *) cp "$f" .carry/base-lib/ ;; esac
done
src_paths="templates runtime compiler"
git cat-file -e "$REF:contract" 2>/dev/null && src_paths="contract $src_paths"
git archive "$REF" $src_paths | tar -x -C .carry/base-src
du -sh .carry/base-bin .carry/base-lib .carry/base-src
