#!/usr/bin/env python3
"""Selection reuse (--select-every N) on the CPU target, held to the CPU reference through `score --select-trace`:
N = 1 (the build option or the per-run override) is bit-identical to a build without the option; with N > 1 every
decode step either scores (its kept pages equal, in the first selecting layer, what N = 1 keeps at that position:
that layer's queries and keys do not depend on earlier selections) or attends to exactly the kept pages of the
sequence's last scoring plus every page begun since, unscored, on the rule of runtime/kv/select_reuse.h. The
build option is named by `info` and `--emit=plan`, a run's --select-every overrides it, and bad values get a
one-line error with a hint."""
import os
import re
import subprocess
import sys

import numpy as np

from fixture_exe import build_cpu, fixture_vocab, parse_args

EXTRA = 4  # kSelectReuseExtra: most pages a reused selection may add


def expected_plan(seq, page, budget, every, prefill):
    """Per decode position t: None (dense), ("score", pages) or ("reuse", scored_pages, pages)."""
    plan, scored, since = {}, 0, 0
    for t in range(prefill, seq):
        pages = t // page + 1
        if every <= 1 or pages <= budget:
            scored = 0
            plan[t] = None if pages <= budget else ("score", pages)
            continue
        if scored > 0 and since + 1 < every and pages - scored <= EXTRA:
            since += 1
            plan[t] = ("reuse", scored, pages)
        else:
            scored, since = pages, 0
            plan[t] = ("score", pages)
    return plan


def reuse_violations(tr, ref_tr, page, budget, every, prefill, dense_layers):
    """Where a --select-every trace tr [batch, seq, layers, kv_heads, top_k] breaks the rule: dense rows, scoring rows of
    `budget` pages whose first selecting layer equals the N = 1 trace ref_tr (None: not compared), reusing rows equal to
    the last scoring's pages plus those begun since. Returns (messages, reusing steps seen). Also used by tools/gpu/check.py."""
    bad, reused = [], 0
    top_k = tr.shape[-1]
    plan = expected_plan(tr.shape[1], page, budget, every, prefill)
    for b in range(tr.shape[0]):
        stored = None
        for t, step in plan.items():
            rows = tr[b, t, dense_layers:]  # [selecting layers, kv_heads, top_k]
            if step is None:
                if not (rows == -1).all():
                    bad.append(f"sequence {b} position {t} is dense but recorded a selection")
                continue
            if step[0] == "score":
                stored = rows[..., :budget].copy()
                if not ((rows[..., budget:] == -1).all() and (stored[..., -1] == step[1] - 1).all()):
                    bad.append(f"sequence {b} position {t}: not a scoring of {budget} pages")
                # The first selecting layer sees the same queries and keys whatever was reused before it.
                if ref_tr is not None and not np.array_equal(rows[0], ref_tr[b, t, dense_layers]):
                    bad.append(f"sequence {b} position {t}: first selecting layer scored differently from N = 1")
            else:
                _, scored, pages = step
                new = np.arange(scored, pages, dtype=np.int32)
                want = np.concatenate([stored, np.broadcast_to(new, stored.shape[:-1] + new.shape)], axis=-1)[..., :top_k]
                n = want.shape[-1]
                if not (np.array_equal(rows[..., :n], want) and (rows[..., n:] == -1).all()):
                    bad.append(f"sequence {b} position {t}: kept set is not the last scoring's plus pages {new.tolist()}")
                reused += 1
    return bad, reused


def main():
    a = parse_args()
    page, top_k, dense_layers, budget, seq, prefill = 4, 8, 1, 5, 72, 10
    common = ["--page-size", str(page), "--top-k-pages", str(top_k), "--dense-layers", str(dense_layers)]
    fails = []

    def check(cond, msg):
        if not cond:
            fails.append(msg)
            print("FAIL:", msg)

    base = build_cpu(a, *common, name="base")
    every4 = build_cpu(a, *common, "--select-every", "4", name="every4")
    vocab = fixture_vocab(a.fixture)
    ids = np.random.default_rng(5).integers(0, vocab, size=(2, seq), dtype=np.int64)
    ids_path = os.path.join(a.workdir, "ids.npy")
    np.save(ids_path, ids)

    def score(exe, *extra, ok=True):
        out, trace = os.path.join(a.workdir, "out.npy"), os.path.join(a.workdir, "trace.npy")
        r = subprocess.run([exe, "score", "--input-ids", ids_path, "--out", out, "--mode", "decode", "--top-k-pages", str(budget),
                            "--prefill-tokens", str(prefill), "--select-trace", trace, *extra], capture_output=True, text=True)
        if ok and r.returncode != 0:
            sys.exit(f"FAIL: {os.path.basename(exe)} score {' '.join(extra)} exited {r.returncode}: {r.stderr.strip()}")
        return (np.load(out), np.load(trace)) if r.returncode == 0 else (None, None), r

    (ref, ref_tr), _ = score(base)
    # N = 1 is today's selection, bit for bit, however it is asked for.
    for exe, extra in [(base, ["--select-every", "1"]), (every4, ["--select-every", "1"])]:
        (lg, tr), _ = score(exe, *extra)
        check(np.array_equal(lg, ref) and np.array_equal(tr, ref_tr), f"{os.path.basename(exe)} {extra}: not bit-identical to the build without --select-every")

    def check_reuse(name, lg, tr, every):
        bad, reused = reuse_violations(tr, ref_tr, page, budget, every, prefill, dense_layers)
        for m in bad[:10]:
            check(False, f"{name}: {m}")
        plan = expected_plan(seq, page, budget, every, prefill)
        first = min(t for t, s in plan.items() if s and s[0] == "reuse")
        check(np.array_equal(lg[:, :first], ref[:, :first]), f"{name}: logits before the first reusing step differ from N = 1")
        check(not np.array_equal(lg, ref), f"{name}: reusing kept sets changed no logit (reuse not acting)")
        return reused

    (lg4, tr4), r4 = score(every4)  # the build's N = 4
    n4 = check_reuse("build --select-every 4", lg4, tr4, 4)
    (lg2, tr2), _ = score(every4, "--select-every", "2")  # a run's override of the build's
    n2 = check_reuse("run --select-every 2", lg2, tr2, 2)
    (lg8, tr8), _ = score(base, "--select-every", "8")
    n8 = check_reuse("run --select-every 8", lg8, tr8, 8)
    check(n2 < n4 < n8, f"reusing steps N=2 {n2}, N=4 {n4}, N=8 {n8}: not increasing")

    # The setting is named by info and --emit=plan.
    info = subprocess.run([every4, "info"], capture_output=True, text=True).stdout
    check(re.search(r"select_every: 4\b", info), "info does not name select_every: 4")
    plan = subprocess.run([a.tsc, os.path.join(a.fixture, "model.onnx"), "--target", "cpu", "--emit=plan", "--select-every", "4"],
                          capture_output=True, text=True).stdout
    check(re.search(r"select_every: 4\b", plan), f"--emit=plan does not name select_every: {plan!r}")

    # Bad values: one line naming the culprit, then a hint; non-zero exit.
    for cmd in ([every4, "score", "--input-ids", ids_path, "--out", os.path.join(a.workdir, "x.npy"), "--mode", "decode", "--select-every", "0"],
                [every4, "generate", "--prompt-ids", "1,2", "--select-every", "65"],
                [a.tsc, os.path.join(a.fixture, "model.onnx"), "--target", "cpu", "-o", os.path.join(a.workdir, "bad"), "--select-every", "0"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and lines and re.search(r"select-every -?\d+ is outside \[1, 64\]", lines[0]) and "HINT" in r.stderr,
              f"{' '.join(cmd[1:3])} with a bad --select-every: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    print(f"N=1 bit-identical; reusing steps (2 sequences): N=2 {n2}, N=4 {n4}, N=8 {n8}, each the last scoring plus new pages")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
