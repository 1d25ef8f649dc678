#!/usr/bin/env python3
"""`score --select-trace` / `--select-replay` on the CPU target: the trace records the pages each decode
attention kept (the design's rule: first and last page, budget pages in all, ascending; -1 rows where
attention is dense), replaying a target's own trace reproduces its logits bit for bit with no reported
difference, a trace with one page swapped is attended as given (logits change from that position on, not
before) and is reported as differing from the own top-k by a positive score gap, and malformed traces are
refused with a one-line error. The GPU check (tools/gpu/check.py) replays the CUDA target's trace here."""
import os
import re
import subprocess
import sys

import numpy as np

from fixture_exe import build_cpu, fixture_vocab, parse_args


def main():
    a = parse_args()
    page, top_k, dense_layers, budget = 4, 8, 1, 5
    exe = build_cpu(a, "--page-size", str(page), "--top-k-pages", str(top_k), "--dense-layers", str(dense_layers))
    vocab = fixture_vocab(a.fixture)
    seq = 64  # 16 pages of 4 tokens
    ids = np.random.default_rng(11).integers(0, vocab, size=(2, seq), dtype=np.int64)
    ids_path = os.path.join(a.workdir, "ids.npy")
    np.save(ids_path, ids)
    fails = []

    def check(cond, msg):
        if not cond:
            fails.append(msg)
            print("FAIL:", msg)

    def score(*extra, ok=True):
        out = os.path.join(a.workdir, "out.npy")
        r = subprocess.run([exe, "score", "--input-ids", ids_path, "--out", out, "--mode", "decode", "--top-k-pages", str(budget), *extra],
                           capture_output=True, text=True)
        if ok and r.returncode != 0:
            sys.exit(f"FAIL: score {' '.join(extra)} exited {r.returncode}: {r.stderr.strip()}")
        return (np.load(out) if r.returncode == 0 else None), r

    trace_path = os.path.join(a.workdir, "trace.npy")
    own, _ = score("--select-trace", trace_path)
    tr = np.load(trace_path)
    L = tr.shape[2]
    check(tr.dtype == np.int32 and tr.shape[:2] == (2, seq) and tr.shape[4] == top_k, f"trace shape {tr.dtype} {tr.shape}")
    check((tr[:, :, :dense_layers] == -1).all(), "dense layers recorded a selection")
    for t in range(seq):
        pages = t // page + 1
        rows = tr[:, t, dense_layers:].reshape(-1, top_k)
        if pages <= budget:
            check((rows == -1).all(), f"position {t} ({pages} pages <= budget) recorded a selection")
            continue
        kept = rows[:, :budget]
        check((rows[:, budget:] == -1).all() and (kept >= 0).all(), f"position {t}: not exactly {budget} pages kept")
        check((kept[:, 0] == 0).all() and (kept[:, -1] == pages - 1).all(), f"position {t}: first or last page not kept")
        check((np.diff(kept, axis=1) > 0).all(), f"position {t}: kept pages not ascending")

    def replay(trace, *extra, ok=True):
        path = os.path.join(a.workdir, "replay.npy")
        np.save(path, trace)
        return score("--select-replay", path, *extra, ok=ok)

    def report(stderr):
        m = re.search(r"replayed (\d+) selections; (\d+) differ from this target's own top-k; largest score gap (\S+)", stderr)
        return (int(m[1]), int(m[2]), float(m[3])) if m else None

    same, r = replay(tr)
    rep = report(r.stderr)
    selecting = int((tr[..., 0] >= 0).sum())
    check(np.array_equal(own, same), "replaying the own trace changed the logits")
    check(rep == (selecting, 0, 0.0), f"replaying the own trace reported {rep}, expected ({selecting}, 0, 0)")

    # Swap one kept middle page for one left out, at one (sequence, position, layer, KV head).
    b, t, l, h = 1, seq - 20, L - 1, 0
    pages = t // page + 1
    row = tr[b, t, l, h, :budget]
    out_page = next(p for p in range(1, pages - 1) if p not in row)
    bad = tr.copy()
    bad[b, t, l, h, :budget] = np.sort(np.concatenate([[out_page], row[row != row[2]]]))
    swapped, r = replay(bad)
    rep = report(r.stderr)
    check(rep is not None and rep[1] == 1 and rep[2] > 0, f"a swapped page was reported as {rep}, expected 1 differing selection with a positive gap")
    check(np.array_equal(own[b, :t], swapped[b, :t]) and np.array_equal(own[0], swapped[0]), "a swapped page changed positions before it")
    check(not np.array_equal(own[b, t], swapped[b, t]), "the swapped page was not attended (logits at its position unchanged)")

    # Malformed traces: one-line errors naming the culprit.
    for what, trace, pattern in [
        ("wrong shape", tr[:, :-1], r"must be i32\[2,64,\d+,\d+,8\].*got i32\[2,63"),
        ("last page dropped", _drop_last(tr, budget, dense_layers), r"replayed page selection of layer \d+ at position \d+ does not fit the sequence"),
    ]:
        _, r = replay(trace, ok=False)
        line = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
        check(r.returncode != 0 and re.search(pattern, line), f"{what}: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    _, r = replay(tr, "--select-score", "gauss", ok=False)
    check(r.returncode != 0 and "does not combine with selection ablations" in r.stderr, f"replay with an ablation: {r.stderr.strip()!r}")
    print(f"trace {tr.shape}: {selecting} selecting rows; own replay bit-identical; swapped page reported as {rep}")
    sys.exit(1 if fails else 0)


def _drop_last(tr, budget, dense_layers):
    """The trace with the last kept page of one selecting row removed."""
    bad = tr.copy()
    idx = np.argwhere(bad[:, :, dense_layers:, :, 0] >= 0)[0]
    b, t, l, h = idx[0], idx[1], idx[2] + dense_layers, idx[3]
    bad[b, t, l, h, budget - 1] = -1
    return bad


if __name__ == "__main__":
    main()
