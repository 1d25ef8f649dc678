#!/usr/bin/env bash
# clang vs nvcc CUDA kernels (issue 18): the same fixtures and the TinyLlama shape built with --cuda-compiler nvcc
# and --cuda-compiler clang, logits compared, decode steps timed. The GPU machine has no clang, so the work is split:
#
#   bash tools/gpu/clang_check.sh prepare   # here: pack .carry (tools/gpu/pack_carry.sh), then compile every
#       fixture's clang kernels and the TinyLlama shape's (a 1-layer stand-in with its specialization: head dim 64,
#       GQA 8, rotary 64, f16 weights) into .carry/tsc-cache-clang, linking each fixture's clang executable here once;
#       records clang's and ptxas's --version in .carry/clang/.
#   bash tools/gpu/clang_check.sh           # GPU machine, with carry [".carry"]: every fixture built with nvcc and
#       with clang (clang's kernels from the carried cache: a stand-in clang++-19 there answers --version with the
#       recorded text and fails on anything else, so a cache miss is an error, never a silent nvcc build), logits
#       compared (max |clang - nvcc| <= 1e-3 max |nvcc|), then the TinyLlama shape exported and its dense decode step
#       timed at batch 1 and 64 (prompt 128, 256 new), both builds, two rounds in opposite orders; and the selecting
#       decode step at 32k context, batch 16 (CLANG_CHECK_SKIP=long skips it, =all every timing; TSC_FIXTURES=a,b
#       a subset of the fixtures). Results: $OUT/clang_check.txt, logs $OUT/clang_check.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FIX=$ROOT/test/Inputs/fixtures
P4=(--page-size 4 --top-k-pages 8 --dense-layers 0)              # selection acts on 64-token inputs
LONG=(--max-seq-len 33024 --top-k-pages 128 --max-batch 16)        # as tools/gpu/check.py's long_context
export TSC_CUDA_ARCHS=${TSC_CUDA_ARCHS:-90} TSC_SOURCE_DIR=$ROOT TSC_LIB_DIR=$ROOT/.carry/lib TSC=$ROOT/.carry/bin/tsc

fixtures() {  # every fixture folder with reference inputs (the hub-layout ones are passed as folders)
  for d in "$FIX"/*/; do
    d=${d%/}
    [ -f "$d/model.onnx" ] || [ -f "$d/onnx/model.onnx" ] || continue
    [ -z "${TSC_FIXTURES:-}" ] || [[ ",$TSC_FIXTURES," == *",$(basename "$d"),"* ]] || continue   # a subset, for short calls
    ids=$d/input_ids.npy
    [ -f "$ids" ] || ids=$(ls "$d"/reference/input_ids.npy 2>/dev/null)
    [ -n "$ids" ] && [ -f "$ids" ] && echo "$(basename "$d") $d $ids"
  done
}

prepare() {
  set -e
  command -v clang++-19 >/dev/null || { echo "clang_check prepare: clang++-19 is missing (bash tools/install_deps.sh)" >&2; exit 1; }
  bash tools/gpu/pack_carry.sh
  mkdir -p .carry/clang
  clang++-19 --version > .carry/clang/version.txt
  /usr/local/cuda/bin/ptxas --version > .carry/clang/ptxas_version.txt
  export TSC_CACHE_DIR=$ROOT/.carry/tsc-cache-clang
  rm -rf "$TSC_CACHE_DIR" /tmp/clang-prepare && mkdir -p /tmp/clang-prepare
  # The TinyLlama shape's kernels depend only on its specialization (DESIGN.md: generated files hold constants),
  # so a 1-layer model with the same head dim, group, rotary and dtype compiles the same source.
  python3 - /tmp/clang-prepare/tinyllama_kernels <<'EOF'
import os, sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
cfg = LlamaConfig(num_hidden_layers=1, hidden_size=512, num_attention_heads=8, num_key_value_heads=1, intermediate_size=256,
                  vocab_size=256, max_position_embeddings=2048, rope_theta=10000.0, rms_norm_eps=1e-5, use_cache=False)
os.makedirs(sys.argv[1], exist_ok=True)
ids = torch.zeros(1, 8, dtype=torch.int64)
torch.onnx.export(LlamaForCausalLM(cfg).eval(), (ids,), os.path.join(sys.argv[1], "model.onnx"), dynamo=True,
                  dynamic_shapes=({0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")},))
EOF
  local m=/tmp/clang-prepare/tinyllama_kernels/model.onnx
  # TinyLlama-1.1B: 32 heads of 64 on 4 KV heads; its fp32 export (tools/gpu/export_full.py) runs on f16 weights.
  "$TSC" "$m" --target cuda --emit=plan | grep -x "KernelPlan hd64_ps16_k64_g8_rd64_f16" || { echo "stand-in plan differs from TinyLlama's" >&2; exit 1; }
  "$TSC" "$m" --target cuda --cuda-compiler clang --emit=compile >/dev/null
  "$TSC" "$m" --target cuda --cuda-compiler clang --emit=compile "${LONG[@]}" >/dev/null
  local n d ids
  while read -r n d ids; do
    for v in "" p4; do
      extra=(); [ "$v" = p4 ] && extra=("${P4[@]}")
      echo "== $n ${v:-default}: clang build here"
      "$TSC" "$d" --target cuda --cuda-compiler clang "${extra[@]}" -o /tmp/clang-prepare/$n$v
    done
  done < <(fixtures)
  rm -f "$TSC_CACHE_DIR"/*_cpu_*.o   # CPU kernels are compiled where they run (-march=native)
  ls "$TSC_CACHE_DIR"
  du -sh .carry .carry/tsc-cache-clang
}

compare() {  # compare.py-free: max |a - b| / max |b| of two logits files, and argmax agreement
  python3 -c 'import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
err = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
print(f"{err:.2e} {float((a.argmax(-1) == b.argmax(-1)).mean()):.3f}")' "$1" "$2"
}

setup_gpu() {  # environment, the carried clang kernels in tsc's cache, the stand-in clang
  OUT=${OUT:-/tmp/out}
  W=${TSC_WORK:-/tmp/tsc-work}/clang
  R=$OUT/clang_check.txt
  LOG=$OUT/clang_check.log
  mkdir -p "$OUT" "$W"
  [ "$1" = fresh ] && : > "$R"
  [ -e /usr/local/cuda/lib ] || ln -s /usr/local/cuda/lib64 /usr/local/cuda/lib 2>/dev/null
  export TSC_CACHE_DIR=${TSC_CACHE_DIR:-/tmp/tsc-cache}
  # The server build links the carried cpp-httplib and brotli (as tools/gpu/run.sh sets up).
  export LIBRARY_PATH=$ROOT/.carry/lib${LIBRARY_PATH:+:$LIBRARY_PATH} LD_LIBRARY_PATH=$ROOT/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  mkdir -p "$TSC_CACHE_DIR" && cp -n .carry/tsc-cache-clang/*.o "$TSC_CACHE_DIR"/
  # tsc keys its cache on `clang++-19 --version`; being asked for anything else means a kernel was not carried.
  mkdir -p /tmp/clang-shim
  cat > /tmp/clang-shim/clang++-19 <<EOF
#!/bin/sh
[ "\$1" = "--version" ] && exec cat "$ROOT/.carry/clang/version.txt"
echo "clang_check: no clang on this machine, and tsc's kernel cache lacks this kernel: rerun 'bash tools/gpu/clang_check.sh prepare' on the dev machine with this tree" >&2
exit 1
EOF
  chmod +x /tmp/clang-shim/clang++-19
  export TSC_CLANG=/tmp/clang-shim/clang++-19
  if ! cmp -s .carry/clang/ptxas_version.txt <(ptxas --version); then
    row WARN "ptxas here differs from the dev machine's: the carried clang kernels will not be found ($(ptxas --version | tail -2 | head -1))"
  fi
}

row() { printf '%-5s %s\n' "$1" "$2" | tee -a "$R"; }

# Builds in parallel, JOBS at once (tsc's cache takes concurrent builds of one specialization); a job a line:
# EXE MODEL CC [tsc options]. Prints the failed ones.
build_all() {
  xargs -P "${JOBS:-8}" -L 1 sh -c 'out=$1 m=$2 cc=$3; shift 3
"$TSC" "$m" --target cuda --cuda-compiler "$cc" "$@" -o "$out" > "$out.build.log" 2>&1 || echo "build of $out failed"' sh
}

fixtures_gpu() {
  local n d ids v cc in mode tag sel err agree ok fail=0
  while read -r n d ids; do
    for cc in nvcc clang; do
      echo "$W/$n.$cc $d $cc"
      echo "$W/${n}p4.$cc $d $cc ${P4[*]}"
    done
  done < <(fixtures) | build_all | while read -r line; do row FAIL "$line (see its .build.log)"; done
  while read -r n d ids; do
    for v in "" p4; do
      [ -x "$W/$n$v.clang" ] && [ -x "$W/$n$v.nvcc" ] || { fail=1; continue; }
      in=$ids
      if [ "$v" = p4 ]; then  # 2 x 64 random tokens: 16 pages of 4, budget 4 of them
        in=$W/$n.long_ids.npy
        python3 -c "import json, sys, numpy as np; v = json.load(open(sys.argv[2] + '/config.json'))['vocab_size']
np.save(sys.argv[1], np.random.default_rng(5).integers(0, v, size=(2, 64), dtype=np.int64))" "$in" "$d"
      fi
      for mode in "prefill" "decode --dense" "decode --top-k-pages 4"; do
        [ "$v" != p4 ] && [ "$mode" = "decode --top-k-pages 4" ] && continue
        tag=$(echo "$mode" | tr -d ' -')
        trace=(); sel=""
        for cc in nvcc clang; do
          # Sparse decode records each step's kept pages: a near tie may select differently, which then says why.
          [ "$tag" = decodetopkpages4 ] && trace=(--select-trace "$W/$n$v.$cc.trace.npy")
          "$W/$n$v.$cc" score --input-ids "$in" --out "$W/$n$v.$cc.$tag.npy" --mode $mode "${trace[@]}" >>"$LOG" 2>&1
        done
        [ ${#trace[@]} -gt 0 ] && sel=$(python3 -c 'import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print(f"; kept pages differ in {int((a != b).any(-1).sum()) if a.shape == b.shape else -1} of {a[..., 0].size} selections")' \
          "$W/$n$v.clang.trace.npy" "$W/$n$v.nvcc.trace.npy" 2>>"$LOG")
        read -r err agree < <(compare "$W/$n$v.clang.$tag.npy" "$W/$n$v.nvcc.$tag.npy" 2>>"$LOG" || echo "nan 0")
        ok=$(python3 -c "print('ok' if float('$err') <= 1e-3 else 'FAIL')")
        [ "$ok" = ok ] || fail=1
        row "$ok" "$n${v:+ $v} $mode: clang vs nvcc rel $err argmax $agree$sel"
      done
    done
  done < <(fixtures)
  return $fail
}

bench_gpu() {  # TinyLlama shape: dense decode at batch 1 and 64, nvcc vs clang, two rounds; then 32k selection
  local full=${TSC_WORK:-/tmp/tsc-work}/full cc order
  python3 tools/gpu/export_full.py "$full" --only tinyllama >>"$LOG" 2>&1 || { row FAIL "tinyllama export (see $LOG)"; return 1; }
  local m=$full/tinyllama/model.onnx
  for cc in nvcc clang; do
    echo "$W/tinyllama.$cc $m $cc"
    [ "${CLANG_CHECK_SKIP:-}" = long ] || echo "$W/tinyllama_long.$cc $m $cc ${LONG[*]}"
  done | build_all | while read -r line; do row FAIL "$line (see its .build.log)"; done
  : > "$W/decode.jsonl"
  for order in "nvcc clang" "clang nvcc"; do
    for cc in $order; do
      "$W/tinyllama.$cc" bench --batch 1 64 --prompt-len 128 --gen 256 --json --dense 2>>"$LOG" | grep '^{' | sed "s/^{/{\"cc\":\"$cc\",/" >> "$W/decode.jsonl"
    done
  done
  if [ "${CLANG_CHECK_SKIP:-}" != long ]; then
    for order in "nvcc clang" "clang nvcc"; do
      for cc in $order; do
        "$W/tinyllama_long.$cc" bench --batch 16 --prompt-len 32720 --gen 40 --warmup 8 --json --modes sparse 2>>"$LOG" | grep '^{' |
          sed "s/^{/{\"cc\":\"$cc\",\"long\":1,/" >> "$W/decode.jsonl"
      done
    done
  fi
  python3 - "$W/decode.jsonl" <<'EOF' | tee -a "$R"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("info  TinyLlama shape, ms per decode step (median of each run; two runs per compiler, opposite orders)")
print(f"info  {'workload':34} {'nvcc':>16} {'clang':>16} {'clang/nvcc':>10}")
keys = sorted({(r.get("long", 0), r["batch"]) for r in rows})
for lg, b in keys:
    ms = {cc: [r["step_ms_median"] for r in rows if r["cc"] == cc and r.get("long", 0) == lg and r["batch"] == b] for cc in ("nvcc", "clang")}
    if not ms["nvcc"] or not ms["clang"]:
        continue
    n, c = statistics.median(ms["nvcc"]), statistics.median(ms["clang"])
    what = f"32k ctx, batch {b}, budget 2048 (sparse)" if lg else f"dense decode, batch {b}"
    print(f"{'ok' if c <= 1.05 * n else 'SLOW':5} {what:34} {' '.join(f'{x:.3f}' for x in ms['nvcc']):>16} "
          f"{' '.join(f'{x:.3f}' for x in ms['clang']):>16} {c / n:10.3f}")
EOF
}

summary() {
  echo "==== clang_check summary ($R)"
  cat "$R"
}

case "${1:-run}" in
  prepare) prepare ;;
  run) setup_gpu fresh && { fixtures_gpu; rc=$?; [ "${CLANG_CHECK_SKIP:-}" = all ] || bench_gpu || rc=1; summary; exit $rc; } ;;
  # The two halves of run, for calls of under 10 minutes each (bench appends to fixtures' table).
  fixtures) setup_gpu fresh && { fixtures_gpu; rc=$?; summary; exit $rc; } ;;
  bench) setup_gpu append && { bench_gpu; rc=$?; summary; exit $rc; } ;;
  *) echo "usage: bash tools/gpu/clang_check.sh [prepare|run|fixtures|bench]" >&2; exit 2 ;;
esac
