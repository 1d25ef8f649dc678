#!/usr/bin/env python3
"""Accuracy regression of query-aware page selection (docs/ACCURACY.md, "CI regression test").

The real-model numbers need SmolLM2 and hours of CPU; this is their quickest case on a fixture: the
random-weight GQA-3 Llama (2 layers, head dim 16, 6 query / 2 KV heads), with its attention made
content-dependent and its logits tamed so that a KL divergence measures attention error smoothly:
  - input RMSNorm weights x2 (q.k grows 4x: attention depends on what the keys are, as in a trained model;
    at x1 it is nearly uniform and any page choice would do);
  - final RMSNorm weight x0.05 (the random tied LM head otherwise gives logits in the hundreds, where a
    rounding-level change of the hidden state moves the KL by nats).
Then, decoding 2 x 256 random tokens one at a time with page size 4 (64 pages) and no dense layers:
  1. a budget covering every page (64) equals dense bit for bit;
  2. positions that fit in the budget are exact (also with --select-reduce max and --no-sink);
  3. mean KL(dense || sparse) over positions >= 128 stays under MARGIN x what the dev machine measured
     with the current kernels (MEASURED), and shrinks as the budget grows (8 > 16 > 32 pages);
  4. --select-reduce max, --no-sink and --select-score oracle|gauss|sketch1quarter stay under theirs too, and
     the oracle (pages ranked by the attention mass exact attention gives them) and the key sketch (the box
     plus 1 bit per key on the page's widest channels) lose less than the bound;
  5. the variants act: each changes some logits;
  6. an executable built with --page-score sketch (pages coded once, when they fill, and scored from the code:
     templates/cpu/page_sketch.h) equals dense where the budget covers the sequence, keeps under its measured
     KL, loses less than the bound, and picks the pages the sketch1quarter ablation (which recomputes the code
     from the keys at every step) picks, but for rounding-level ties (score --select-trace of both).
The thresholds fail a selection that ignores the query or computes a wrong bound. Measured (KL at 32 / 16 /
8 pages, thresholds 0.0163 / 0.0806 / 0.1414): correct selection 0.0130 / 0.0645 / 0.1131; the same kernels
patched to keep the most recent pages 0.064 / 0.131 / 0.158, the oldest 0.056 / 0.121 / 0.148, the
lowest-scored 0.114 / 0.156 / 0.170, or to score with q.max only (dropping the min bound) 0.036 / 0.092 /
0.132: each fails at 32 and 16 pages.
Deterministic: one OpenMP thread, fixed seed, CPU kernels.
"""
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # test/e2e
from fixture_exe import build_cpu, parse_args  # noqa: E402

PAGE = 4
SEQ = 256            # the fixture's max_position_embeddings
LATE = 128           # KL is averaged over positions >= LATE (every budget below acts there)
NORM_IN_SCALE = 2.0
NORM_OUT_SCALE = 0.05
MARGIN = 1.25
# (extra score flags, budget pages) -> mean KL(dense || sparse) over positions >= LATE, in nats, measured on
# the dev machine (2026-11-26, tsc at f19fe5f); the test allows MARGIN x these.
MEASURED = {
    ((), 32): 0.0130,
    ((), 16): 0.0645,
    ((), 8): 0.1131,
    (("--select-reduce", "max"), 16): 0.0656,
    (("--no-sink",), 16): 0.0629,
    (("--select-score", "oracle"), 16): 0.0031,  # exact attention mass: must also beat the bound's selection
    # estimated attention mass (docs/ACCURACY.md "Other page scores", "Key sketches"; measured 2026-11-26 at 8067f28)
    (("--select-score", "gauss"), 16): 0.0616,
    (("--select-score", "sketch1quarter"), 16): 0.0523,  # must also beat the bound's selection, as on SmolLM2
}
SKETCH_PAGES = 16
SKETCH_KL = 0.0523      # tsc --page-score sketch at 16 pages, measured on the dev machine
SKETCH_SAME_ROWS = 0.99  # share of selections equal to the sketch1quarter ablation's


def make_model(fixture, workdir):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(os.path.join(fixture, "model.onnx"))
    seen = set()
    for init in m.graph.initializer:
        scale = None
        if init.name.endswith("input_layernorm.weight"):
            scale = NORM_IN_SCALE
        elif init.name == "model.norm.weight":
            scale = NORM_OUT_SCALE
        if scale is not None:
            seen.add(init.name)
            init.CopyFrom(numpy_helper.from_array((numpy_helper.to_array(init) * scale).astype(np.float32), init.name))
    if "model.norm.weight" not in seen or len(seen) < 2:
        raise SystemExit(f"fixture initializers changed: found {sorted(seen)}")
    path = os.path.join(workdir, "model.onnx")
    onnx.save(m, path)
    shutil.copy(os.path.join(fixture, "config.json"), workdir)
    return path


def log_softmax(x):
    x = x.astype(np.float64)
    z = x - x.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def main():
    a = parse_args(add_args=lambda ap: ap.add_argument("--print-only", action="store_true",
                                                       help="print the measurements, assert nothing"))
    exe = build_cpu(a, "--page-size", str(PAGE), "--top-k-pages", str(SEQ // PAGE), "--dense-layers", "0",
                    model=make_model(a.fixture, a.workdir))
    vocab = 512
    ids = np.random.default_rng(0).integers(0, vocab, size=(2, SEQ), dtype=np.int64)
    ids_path = os.path.join(a.workdir, "ids.npy")
    np.save(ids_path, ids)
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def score_with(server, *extra):
        out = os.path.join(a.workdir, "logits.npy")
        subprocess.run([server, "score", "--input-ids", ids_path, "--out", out, "--mode", "decode", *extra], check=True, env=env)
        return np.load(out)

    def score(*extra):
        return score_with(exe, *extra)

    fails = []

    def check(cond, msg):
        print(("ok:   " if cond else "FAIL: ") + msg)
        if not cond:
            fails.append(msg)

    dense = score("--dense")
    assert dense.shape == (2, SEQ, vocab), dense.shape
    ld = log_softmax(dense)
    full = score("--top-k-pages", str(SEQ // PAGE))
    check(np.array_equal(dense, full), f"a budget of {SEQ // PAGE} pages (all) equals dense bit for bit "
          f"(max |diff| {float(np.abs(dense - full).max()):.3g})")

    kls = {}
    logits = {}
    for (extra, pages) in MEASURED:
        x = score("--top-k-pages", str(pages), *extra)
        # Position t attends to t+1 tokens: ceil((t+1)/PAGE) pages; exact while that is <= pages.
        exact = pages * PAGE
        check(np.array_equal(x[:, :exact], dense[:, :exact]),
              f"{' '.join(extra) or 'default'} budget {pages}: positions < {exact} (fit in the budget) equal dense")
        logits[(extra, pages)] = x
        lx = log_softmax(x)
        kl = float((np.exp(ld) * (ld - lx)).sum(-1)[:, LATE:].mean())
        top1 = float((dense.argmax(-1) == x.argmax(-1))[:, LATE:].mean())
        kls[(extra, pages)] = kl
        print(f"      {' '.join(extra) or 'default'} budget {pages} pages: mean KL(dense||sparse) over positions >= {LATE}: "
              f"{kl:.4f} nats, top-1 agreement {top1:.3f}")
    sk_exe = build_cpu(a, "--page-score", "sketch", "--page-size", str(PAGE), "--top-k-pages", str(SEQ // PAGE), "--dense-layers", "0",
                       model=make_model(a.fixture, a.workdir), name="model_server_sketch")
    sk_full = score_with(sk_exe, "--top-k-pages", str(SEQ // PAGE))
    trace_sk = os.path.join(a.workdir, "trace_sketch.npy")
    trace_ab = os.path.join(a.workdir, "trace_ablation.npy")
    sk = score_with(sk_exe, "--top-k-pages", str(SKETCH_PAGES), "--select-trace", trace_sk)
    score("--top-k-pages", str(SKETCH_PAGES), "--select-score", "sketch1quarter", "--select-trace", trace_ab)
    tsk, tab = np.load(trace_sk), np.load(trace_ab)
    same_rows = float((tsk == tab).all(-1).mean())
    lsk = log_softmax(sk)
    kl_sk = float((np.exp(ld) * (ld - lsk)).sum(-1)[:, LATE:].mean())
    print(f"      --page-score sketch budget {SKETCH_PAGES} pages: mean KL {kl_sk:.4f} nats; selections equal to the "
          f"sketch1quarter ablation's: {same_rows:.4f} of {tsk[..., 0].size} (row = step, layer, KV head)")
    if a.print_only:
        return 0
    exact = SKETCH_PAGES * PAGE
    check(np.array_equal(sk_full, dense), "--page-score sketch with a budget of every page equals dense bit for bit")
    check(np.array_equal(sk[:, :exact], dense[:, :exact]), f"--page-score sketch: positions < {exact} (fit in the budget) equal dense")
    check(kl_sk <= MARGIN * SKETCH_KL, f"--page-score sketch budget {SKETCH_PAGES}: KL {kl_sk:.4f} <= {MARGIN * SKETCH_KL:.4f}")
    check(kl_sk < kls[((), SKETCH_PAGES)], f"--page-score sketch loses less than the bound at {SKETCH_PAGES} pages")
    check(same_rows >= SKETCH_SAME_ROWS, f"--page-score sketch selects as the sketch1quarter ablation in >= {SKETCH_SAME_ROWS} of rows")
    for key, kl in kls.items():
        thr = MARGIN * MEASURED[key]
        extra, pages = key
        check(kl <= thr, f"{' '.join(extra) or 'default'} budget {pages}: KL {kl:.4f} <= {thr:.4f}")
        check(kl > 0, f"{' '.join(extra) or 'default'} budget {pages}: selection acts (KL {kl:.2g} > 0)")
    check(kls[((), 8)] > kls[((), 16)] > kls[((), 32)],
          "KL shrinks as the budget grows (8 > 16 > 32 pages)")
    check(kls[(("--select-score", "oracle"), 16)] < kls[((), 16)],
          "the oracle (pages ranked by exact attention mass) loses less than the bound at 16 pages")
    check(kls[(("--select-score", "sketch1quarter"), 16)] < kls[((), 16)],
          "the key sketch (sketch1quarter) loses less than the bound at 16 pages")
    for extra in (("--select-reduce", "max"), ("--no-sink",), ("--select-score", "oracle"), ("--select-score", "gauss"),
                  ("--select-score", "sketch1quarter")):
        check(not np.array_equal(logits[(extra, 16)], logits[((), 16)]), f"{' '.join(extra)} changes the selection at 16 pages")
    if fails:
        print(f"{len(fails)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
