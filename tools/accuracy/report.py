#!/usr/bin/env python3
"""Tables (Markdown + CSV) and PNG plots of the accuracy runs (ppl.py, passkey.py) for docs/ACCURACY.md.

    python3 tools/accuracy/report.py --work /tmp/acc [--out docs/accuracy] [--csv-out bench/results/accuracy]
Setup: bash tools/install_deps.sh --demo (matplotlib).

Writes OUT/tables.md (every table) and the plots OUT/*.png; CSV_OUT/ppl_cells.csv (one row per perplexity cell and
position range) and CSV_OUT/passkey.csv.
"""
import argparse
import csv
import glob
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

RANGES = [("all", 1), (">=1k", 1024), (">=2k", 2048), (">=4k", 4096)]  # target token index >= start


def load_ppl(work):
    cells = []
    for j in sorted(glob.glob(os.path.join(work, "results", "ppl", "*.json"))):
        with open(j) as f:
            meta = json.load(f)
        z = np.load(j[:-5] + ".npz")
        meta["nll"] = z["nll"]
        meta["kl"] = z["kl"] if "kl" in z else None
        meta["agree"] = z["agree"] if "agree" in z else None
        meta["set"] = "+".join(meta["docs"])
        meta.setdefault("prefill", 0)
        cells.append(meta)
    return cells


def ppl_of(nll, start):
    """exp(mean NLL) over targets with token index >= start (nll[:, t] predicts token t + 1)."""
    x = nll[:, max(0, start - 1):]
    return float(np.exp(x.mean())) if x.size else float("nan")


def variant(c):
    return (("max" if c["select_reduce"] == "max" else "sum") + ("+nosink" if c["no_sink"] else "")
            + ("" if c.get("select_score", "bound") == "bound" else "+" + c["select_score"]))


def fmt_pct(x):
    return f"{x:+.2f}%"


def save_plot(fig, out, name, md, lead="\n"):
    """Lays out, writes OUT/name (PNG) and links it from the tables."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=110)
    plt.close(fig)
    md.append(f"{lead}![{name}]({name})\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", default=os.path.join(common.ROOT, "docs", "accuracy"), help="tables.md and plots")
    ap.add_argument("--csv-out", default=os.path.join(common.ROOT, "bench", "results", "accuracy"), help="the CSVs")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.csv_out, exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    md = []
    cells = load_ppl(a.work)
    # Dense reference per (doc set, length, dtype): the page-16 dense cell (dense decode is bit-identical across
    # page sizes and dense-layer counts, checked in docs/ACCURACY.md).
    dense = {}
    for c in cells:
        if c["budget_tokens"] is None and (c["set"], c["len"], c["dtype"], c["prefill"]) not in dense:
            dense[(c["set"], c["len"], c["dtype"], c["prefill"])] = c
    rows = []
    for c in cells:
        d = dense.get((c["set"], c["len"], "bf16", c["prefill"]))
        for rname, start in RANGES:
            if start >= c["len"]:
                continue
            p = ppl_of(c["nll"], start)
            pd = ppl_of(d["nll"], start) if d else float("nan")
            kl = float(c["kl"][:, max(0, start - 1):].mean()) if c["kl"] is not None else float("nan")
            ag = float(c["agree"][:, max(0, start - 1):].mean()) if c["agree"] is not None else float("nan")
            rows.append({"set": c["set"], "len": c["len"], "prefill": c["prefill"], "dtype": c["dtype"], "page": c["page"], "dense_layers": c["dense_layers"],
                         "variant": variant(c), "budget_tokens": c["budget_tokens"] or "dense", "range": rname,
                         "ppl": p, "dense_ppl": pd, "delta_pct": 100 * (p / pd - 1), "kl_vs_dense": kl, "top1_agree": ag,
                         "score_seconds": c["score_seconds"], "kept": c["score_stderr"].split("(")[-1].rstrip(")") if c["score_stderr"] else ""})
    with open(os.path.join(a.csv_out, "ppl_cells.csv"), "w", newline="") as f:
        if rows:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})

    def find(set_, len_, page, dl, var, budget, dtype="bf16", prefill=0):
        for c in cells:
            if (c["set"], c["len"], c["dtype"], c["dense_layers"], c["prefill"]) == (set_, len_, dtype, dl, prefill) and \
                    (c["budget_tokens"] or "dense") == budget and (budget == "dense" or (c["page"] == page and variant(c) == var)):
                return c
        return None

    sets = sorted({(c["set"], c["len"]) for c in cells}, key=lambda x: (x[1], x[0]))
    budgets = [128, 256, 512, 1024, 2048]
    for set_, len_ in sets:
        d = find(set_, len_, 16, 2, "sum", "dense")
        if d is None:
            continue
        md.append(f"\n### Perplexity: {len(d['docs'])} documents x {len_} tokens ({', '.join(d['docs'])}), bf16 weights, "
                  f"dense layers 2, group sum, sink kept\n")
        md.append("Perplexity (change vs dense) by budget (tokens = pages x page size) and page size; "
                  "over all predicted tokens and over tokens at index >= 1k / 2k / 4k.\n")
        rng = [r for r in RANGES if r[1] < len_]
        md.append("| budget | " + " | ".join(f"page {p}, {r[0]}" for p in (8, 16, 32) for r in rng[:3]) + " |")
        md.append("|---" * (1 + 3 * len(rng[:3])) + "|")
        md.append("| dense | " + " | ".join(f"{ppl_of(d['nll'], r[1]):.3f}" for p in (8, 16, 32) for r in rng[:3]) + " |")
        for b in budgets:
            cols = []
            for p in (8, 16, 32):
                c = find(set_, len_, p, 2, "sum", b)
                for r in rng[:3]:
                    if c is None:
                        cols.append("")
                    else:
                        pc, pd = ppl_of(c["nll"], r[1]), ppl_of(d["nll"], r[1])
                        cols.append(f"{pc:.3f} ({fmt_pct(100 * (pc / pd - 1))})")
            if any(cols):
                md.append(f"| {b} | " + " | ".join(cols) + " |")
        # Per document at page 16.
        md.append("\nPer document, page 16, all predicted tokens (and >= 2k): perplexity change vs dense\n")
        md.append("| document | dense ppl | " + " | ".join(f"{b}" for b in budgets) + " |")
        md.append("|---" * (2 + len(budgets)) + "|")
        for i, name in enumerate(d["docs"]):
            cols = []
            for b in budgets:
                c = find(set_, len_, 16, 2, "sum", b)
                if c is None:
                    cols.append("")
                    continue
                da, ca = np.exp(d["nll"][i].mean()), np.exp(c["nll"][i].mean())
                late = ""
                if len_ > 2048:  # the change over tokens >= 2k, where the budget covers less of the document
                    d2, c2 = np.exp(d["nll"][i, 2047:].mean()), np.exp(c["nll"][i, 2047:].mean())
                    late = f" ({fmt_pct(100 * (c2 / d2 - 1))})"
                cols.append(f"{fmt_pct(100 * (ca / da - 1))}{late}")
            md.append(f"| {name} | {np.exp(d['nll'][i].mean()):.3f} | " + " | ".join(cols) + " |")

        # Plot: ppl change vs budget per page size, for ranges.
        fig, axes = plt.subplots(1, len(rng[:3]), figsize=(4.2 * len(rng[:3]), 3.6), sharey=True)
        for ax, r in zip(np.atleast_1d(axes), rng[:3]):
            for p, mk in ((8, "o"), (16, "s"), (32, "^")):
                xs, ys = [], []
                for b in budgets:
                    c = find(set_, len_, p, 2, "sum", b)
                    if c is not None:
                        xs.append(b)
                        ys.append(100 * (ppl_of(c["nll"], r[1]) / ppl_of(d["nll"], r[1]) - 1))
                if xs:
                    ax.plot(xs, ys, marker=mk, label=f"page {p}")
            ax.axhline(0, color="k", lw=0.8)
            ax.axhline(1, color="g", lw=0.6, ls="--")
            ax.axhline(3, color="orange", lw=0.6, ls="--")
            ax.set_xscale("log", base=2)
            ax.set_xticks(budgets)
            ax.set_xticklabels([str(b) for b in budgets])
            ax.set_xlabel("budget (tokens)")
            ax.set_title(f"tokens {r[0]}")
            ax.grid(alpha=0.3)
        np.atleast_1d(axes)[0].set_ylabel("perplexity vs dense (%)")
        np.atleast_1d(axes)[0].legend()
        fig.suptitle(f"SmolLM2-135M-Instruct, {len(d['docs'])} docs x {len_} tokens, decode with page selection (CPU, bf16)", fontsize=9)
        save_plot(fig, a.out, f"ppl_vs_budget_L{len_}.png", md)

        # Plot: per-position loss gap at page 16, smoothed.
        fig, ax = plt.subplots(figsize=(8, 3.6))
        w = 256
        for b in budgets:
            c = find(set_, len_, 16, 2, "sum", b)
            if c is None:
                continue
            gap = (c["nll"] - d["nll"]).mean(0)
            sm = np.convolve(gap, np.ones(w) / w, mode="valid")
            ax.plot(np.arange(len(sm)) + w // 2 + 1, sm, label=f"{b} tokens")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel("token index")
        ax.set_ylabel(f"NLL gap vs dense (nats, {w}-token mean)")
        ax.set_title(f"Where the loss comes from: page 16, {len(d['docs'])} docs x {len_} tokens", fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        save_plot(fig, a.out, f"ppl_gap_by_position_L{len_}.png", md, lead="")

        # Ablations at page 16 on this set.
        abl = []
        for dl in (0, 1, 2):
            for var in ("sum", "max", "sum+nosink", "sum+oracle"):
                for b in budgets:
                    c = find(set_, len_, 16, dl, var, b)
                    if c is not None and not (dl == 2 and var == "sum"):
                        abl.append((dl, var))
                        break
        if abl:
            md.append(f"\n### Ablations: {len(d['docs'])} documents x {len_} tokens, page 16 (perplexity change vs dense, all tokens / >= 2k)\n")
            md.append("| dense layers | group reduce | sink | page score | " + " | ".join(str(b) for b in budgets) + " |")
            md.append("|---" * (4 + len(budgets)) + "|")
            for dl, var in [(2, "sum")] + sorted(set(abl)):
                cols = []
                for b in budgets:
                    c = find(set_, len_, 16, dl, var, b)
                    if c is None:
                        cols.append("")
                    else:
                        cols.append(f"{fmt_pct(100 * (ppl_of(c['nll'], 1) / ppl_of(d['nll'], 1) - 1))} / "
                                    f"{fmt_pct(100 * (ppl_of(c['nll'], 2048) / ppl_of(d['nll'], 2048) - 1))}")
                md.append(f"| {dl} | {var.split('+')[0]} | {'no' if 'nosink' in var else 'kept'} | "
                          f"{'oracle (exact mass)' if 'oracle' in var else 'key bound'} | " + " | ".join(cols) + " |")
        # Serving's shape: a dense prefill of the first P tokens, then decode with selection.
        for pf in sorted({c["prefill"] for c in cells if c["prefill"] and (c["set"], c["len"]) == (set_, len_)}):
            dp = find(set_, len_, 16, 2, "sum", "dense", prefill=pf)
            if dp is None:
                continue
            md.append(f"\n### Serving's shape: {pf} tokens prefilled densely (a prompt), the next {len_ - pf} decoded with selection\n")
            md.append(f"Perplexity of the decoded tokens (index > {pf}), page 16, dense layers 2, group sum; change vs the same "
                      f"shape decoded densely, and vs decoding every token with the same budget (errors compounding through "
                      f"a sparsely decoded prompt).\n")
            md.append("| budget | ppl | vs dense | KL vs dense (nats) | top-1 agreement | all tokens decoded sparsely: ppl over the same tokens |")
            md.append("|---|---|---|---|---|---|")
            md.append(f"| dense | {ppl_of(dp['nll'], pf + 1):.3f} | | | | {ppl_of(d['nll'], pf + 1):.3f} |")
            for b in budgets:
                c = find(set_, len_, 16, 2, "sum", b, prefill=pf)
                if c is None:
                    continue
                full = find(set_, len_, 16, 2, "sum", b)
                pc, pdn = ppl_of(c["nll"], pf + 1), ppl_of(dp["nll"], pf + 1)
                kl = float(c["kl"][:, pf:].mean()) if c["kl"] is not None else float("nan")
                ag = float(c["agree"][:, pf:].mean()) if c["agree"] is not None else float("nan")
                fc = f"{ppl_of(full['nll'], pf + 1):.3f} ({fmt_pct(100 * (ppl_of(full['nll'], pf + 1) / ppl_of(d['nll'], pf + 1) - 1))})" if full else ""
                md.append(f"| {b} | {pc:.3f} | {fmt_pct(100 * (pc / pdn - 1))} | {kl:.4f} | {ag:.3f} | {fc} |")
        # dtype check.
        f32 = find(set_, len_, 16, 2, "sum", "dense", dtype="f32")
        if f32 is not None:
            md.append(f"\n### Weight dtype ({len(d['docs'])} documents x {len_} tokens, dense decode)\n")
            md.append("| weights | ppl all | ppl >= 2k |")
            md.append("|---|---|---|")
            for nm, c in (("f32", f32), ("bf16", d)):
                md.append(f"| {nm} | {ppl_of(c['nll'], 1):.4f} | {ppl_of(c['nll'], 2048):.4f} |")
            md.append(f"\nbf16 vs f32: {fmt_pct(100 * (ppl_of(d['nll'], 1) / ppl_of(f32['nll'], 1) - 1))} (all tokens)")

    # Passkey.
    recs = []
    for j in sorted(glob.glob(os.path.join(a.work, "results", "passkey", "*.jsonl"))):
        with open(j) as f:
            recs += [json.loads(l) for l in f if l.strip()]
    if recs:
        with open(os.path.join(a.csv_out, "passkey.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["exe", "context", "depth", "seed", "key", "budget_tokens", "prompt_tokens", "correct", "text"])
            w.writeheader()
            for r in recs:
                w.writerow({k: r.get(k) for k in w.fieldnames})
        by_exe = defaultdict(list)
        for r in recs:
            by_exe[r["exe"]].append(r)
        for exe, rs in sorted(by_exe.items()):
            ctxs = sorted({r["context"] for r in rs})
            depths = sorted({r["depth"] for r in rs})
            bs = sorted({r["budget_tokens"] for r in rs if r["budget_tokens"] is not None})
            acc = defaultdict(list)
            for r in rs:
                acc[(r["context"], r["depth"], r["budget_tokens"])].append(r["correct"])
            seeds = max(len(v) for v in acc.values())
            md.append(f"\n### Passkey retrieval ({exe}; {seeds} keys per cell; correct / keys)\n")
            md.append("| context | depth | dense | " + " | ".join(str(b) for b in bs) + " |")
            md.append("|---" * (3 + len(bs)) + "|")
            for cx in ctxs:
                for dp in depths:
                    def cell(b):
                        v = acc.get((cx, dp, b), [])
                        return f"{sum(v)}/{len(v)}" if v else ""
                    md.append(f"| {cx} | {dp}% | {cell(None)} | " + " | ".join(cell(b) for b in bs) + " |")
            # Summary: where dense succeeds.
            md.append("\nWhere dense is right (per key): the fraction each budget also gets right\n")
            md.append("| context | keys dense right | " + " | ".join(str(b) for b in bs) + " |")
            md.append("|---" * (2 + len(bs)) + "|")
            idx = {(r["context"], r["depth"], r["seed"], r["budget_tokens"]): r["correct"] for r in rs}
            for cx in ctxs + ["all"]:
                keys = [(c, dp, s) for (c, dp, s, b) in idx if b is None and idx[(c, dp, s, b)] and (cx == "all" or c == cx)]
                cols = []
                for b in bs:
                    v = [idx.get((c, dp, s, b)) for (c, dp, s) in keys if (c, dp, s, b) in idx]
                    cols.append(f"{sum(v)}/{len(v)}" if v else "")
                md.append(f"| {cx} | {len(keys)} | " + " | ".join(cols) + " |")
            # Heatmaps.
            cols_b = [None] + bs
            fig, axes = plt.subplots(1, len(cols_b), figsize=(2.3 * len(cols_b), 2.8), sharey=True)
            for ax, b in zip(np.atleast_1d(axes), cols_b):
                m = np.full((len(depths), len(ctxs)), np.nan)
                for i, dp in enumerate(depths):
                    for k, cx in enumerate(ctxs):
                        v = acc.get((cx, dp, b), [])
                        if v:
                            m[i, k] = np.mean(v)
                ax.imshow(m, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
                for i in range(len(depths)):
                    for k in range(len(ctxs)):
                        if not np.isnan(m[i, k]):
                            ax.text(k, i, f"{m[i, k]:.2f}", ha="center", va="center", fontsize=7)
                ax.set_xticks(range(len(ctxs)))
                ax.set_xticklabels([f"{c // 1024}k" for c in ctxs], fontsize=8)
                ax.set_yticks(range(len(depths)))
                ax.set_yticklabels([f"{d}%" for d in depths], fontsize=8)
                ax.set_title("dense" if b is None else f"{b} tokens", fontsize=9)
                ax.set_xlabel("context", fontsize=8)
            np.atleast_1d(axes)[0].set_ylabel("depth", fontsize=8)
            fig.suptitle(f"Passkey accuracy, SmolLM2-135M-Instruct ({exe})", fontsize=9)
            save_plot(fig, a.out, f"passkey_{exe}.png", md)

    with open(os.path.join(a.out, "tables.md"), "w") as f:
        f.write("# Accuracy tables (generated by tools/accuracy/report.py; see docs/ACCURACY.md)\n")
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
