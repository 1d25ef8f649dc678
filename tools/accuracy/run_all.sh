#!/usr/bin/env bash
# Every accuracy run behind docs/ACCURACY.md, in the order they were run, on the CPU target (each step skips the
# cells it already finished, so an interrupted run resumes). Usage: bash tools/accuracy/run_all.sh WORK [--quick]
# Needs build/bin/tsc and the SmolLM2 model in models/cache (bash tools/demo.sh fetches both). About 3 hours on
# 2 cores; the report lands in WORK/report (docs/accuracy holds the one behind docs/ACCURACY.md).
# --quick: the smallest case (2 documents x 2048 tokens, page 16, budgets dense/256/512) in ~4 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:?usage: run_all.sh WORK [--quick]}
A=tools/accuracy
if [ "${2:-}" = "--quick" ]; then
  python3 $A/ppl.py --work "$WORK" --docs gpl3,argparse --len 2048 --page 16 --budgets dense,256,512
  python3 $A/report.py --work "$WORK" --out "$WORK/report" --csv-out "$WORK/report"
  exit 0
fi
DOCS=gpl3,vim_usr41,node_stream,argparse
# 1. Perplexity, page 16, every budget, every token decoded (the judged numbers: 1024 within 1%, 512 within 3%).
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets dense,1024,512,256,2048,128
# 2. Serving's shape: the first 2048 tokens prefilled densely as a prompt, the next 2048 decoded with selection
#    (errors do not compound through a sparsely decoded prompt).
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets dense,1024,512 --prefill 2048
# 3. What the bound costs: pages ranked by the attention mass exact attention gives them (oracle).
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512,1024 --select-score oracle
# 4. Page sizes 8 and 32 at 512 tokens (dense decode does not depend on the page size: the page-16 dense cell
#    is the reference).
for p in 8 32; do python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page $p --budgets 512; done
# 5. Ablations at page 16, 512 tokens: group max instead of sum, no sink page, no dense layers.
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --select-reduce max
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --no-sink
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --dense-layers 0
# 6. Passkey, dense vs budgets (the first answer token comes from the dense prefill, the rest decode sparsely).
python3 $A/passkey.py --work "$WORK" --contexts 1024,2048,4096 --depths 0,50,100 --seeds 1 \
  --budgets dense,256,512,1024 --page 16
# 7. More keys where dense can answer (1k and 2k), and page 8 at 1024 tokens.
python3 $A/passkey.py --work "$WORK" --contexts 1024,2048 --depths 0,25,50,75,100 --seeds 3 \
  --budgets dense,256,512,1024 --page 16
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 8 --budgets 1024
# 8. Other page scores (docs/ACCURACY.md "Other page scores"): screened on 2 documents at 512 tokens, the two
#    that met the targets confirmed on all 4 at 512 and 1024.
python3 $A/ppl.py --work "$WORK/screen" --docs gpl3,argparse --len 4096 --page 16 --budgets dense,512
for v in subpage2 subpage4 sphere subpage2sphere qsum qsumsphere boundsoft boxgauss gausscap gauss subpage2gauss; do
  python3 $A/ppl.py --work "$WORK/screen" --docs gpl3,argparse --len 4096 --page 16 --budgets 512 --select-score $v
done
python3 $A/ppl.py --work "$WORK/screen" --docs gpl3,argparse --len 4096 --page 16 --budgets 1024 --select-score subpage4
for v in gauss subpage2gauss; do
  python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512,1024 --select-score $v
done
# 9. Key sketches (docs/ACCURACY.md "Key sketches"): passkey where the bound misses, then the 1k grid, then
#    perplexity on all 4 documents.
for v in sketch1 sketch1half sketch1quarter sketch2; do
  python3 $A/passkey.py --work "$WORK" --contexts 2048 --depths 0 --seeds 3 --budgets 512 --page 16 --select-score $v
done
for v in sketch1 sketch1half sketch1quarter; do
  python3 $A/passkey.py --work "$WORK" --contexts 1024 --depths 0,25,50,75,100 --seeds 3 --budgets 512 --page 16 --select-score $v
done
python3 $A/passkey.py --work "$WORK" --contexts 2048 --depths 0 --seeds 3 --budgets 256,1024 --page 16 --select-score sketch1quarter
python3 $A/passkey.py --work "$WORK" --contexts 1024 --depths 0,25,50,75,100 --seeds 3 --budgets 256 --page 16 \
  --select-score sketch1quarter
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --select-score sketch1
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 256,512,1024 --select-score sketch1quarter
# 10. The key sketch as built (tsc --page-score sketch: pages coded once, as they fill; docs/ACCURACY.md
#     "Results against the targets"): passkey where dense succeeds, then perplexity.
python3 $A/passkey.py --work "$WORK" --contexts 2048 --depths 0 --seeds 3 --budgets dense,512,1024 --page 16 --page-score sketch
python3 $A/passkey.py --work "$WORK" --contexts 1024 --depths 0,25,50,75,100 --seeds 3 --budgets dense,256,512 --page 16 \
  --page-score sketch
python3 $A/passkey.py --work "$WORK" --contexts 8192 --depths 0,50,100 --seeds 1 --budgets dense,512,1024 --page 16 \
  --page-score sketch
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512,1024,256 --page-score sketch
# 11. Ablations with either score (docs/ACCURACY.md "Ablations"): dense layers 1 with the bound; dense layers 0 / 1,
#     group max and no sink with the sketch.
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --dense-layers 1
for d in 0 1; do
  python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --dense-layers $d --page-score sketch
done
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --select-reduce max --page-score sketch
python3 $A/ppl.py --work "$WORK" --docs $DOCS --len 4096 --page 16 --budgets 512 --no-sink --page-score sketch
# 12. Selection reuse (docs/ACCURACY.md "Selection reuse"): 2 documents x 2048 tokens, N = 1, 2, 4, 8.
python3 $A/ppl.py --work "$WORK" --docs gpl3,argparse --len 2048 --page 16 --budgets dense,512,1024
for n in 2 4 8; do
  python3 $A/ppl.py --work "$WORK" --docs gpl3,argparse --len 2048 --page 16 --budgets 512,1024 --select-every $n
done
python3 $A/report.py --work "$WORK" --out "$WORK/report" --csv-out "$WORK/report"
