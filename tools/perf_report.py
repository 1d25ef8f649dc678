#!/usr/bin/env python3
"""Turns the GPU runs' JSON (bench/results/perf/*.json, written by tools/gpu/check.py) into CSV tables (beside the
JSON) and PNG plots (docs/perf/, which docs/PERF.md shows).
Usage: python3 tools/perf_report.py [bench/results/perf [docs/perf]]
Setup: bash tools/install_deps.sh --demo (matplotlib)."""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    root = os.path.join(os.path.dirname(__file__), "..")
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "bench", "results", "perf")
    plots = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "docs", "perf")
    attn = json.load(open(os.path.join(d, "attn_decode_h200.json")))
    with open(os.path.join(d, "attn_decode_h200.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["context", "sparse_us", "dense_us", "sdpa_us", "sparse_floor_mb"])
        for j in attn:
            w.writerow([j["context"], j["sparse_us"], j["dense_us"], j.get("sdpa_best_us"), j["sparse_floor_mb"]])
    ctx = [j["context"] for j in attn]
    plt.figure(figsize=(6, 4))
    plt.plot(ctx, [j["dense_us"] for j in attn], "o-", label="tsc dense paged")
    plt.plot(ctx, [j["sparse_us"] for j in attn], "o-", label="tsc fused sparse (2048-token budget)")
    plt.plot(ctx, [j.get("sdpa_best_us") for j in attn], "o-", label="PyTorch SDPA")
    plt.xscale("log", base=2)
    plt.yscale("log")
    plt.xlabel("context (tokens)")
    plt.ylabel("µs per decode attention (batch 16, 32q/4kv, d 64)")
    plt.title("Decode attention, H200, 2026-11-26")
    plt.legend()
    plt.tight_layout()
    plt.savefig(os.path.join(plots, "attn_decode_h200.png"), dpi=120)
    bench = json.load(open(os.path.join(d, "decode_bench_h200.json")))
    with open(os.path.join(d, "decode_bench_h200.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "impl", "batch", "ms_per_step", "tokens_per_s", "ttft_ms", "memory_bytes"])
        for j in bench:
            w.writerow([j["model"], j.get("impl"), j["batch"], j.get("step_ms_median", j.get("step_ms")), j["tokens_per_s"], j["ttft_ms"],
                        j.get("device_memory_bytes", j.get("peak_memory_bytes"))])
    plt.figure(figsize=(6, 4))
    for model in ("tinyllama", "gpt2_medium"):
        for impl in ("tsc", "hf-transformers-eager"):
            pts = [(j["batch"], j["tokens_per_s"]) for j in bench if j["model"] == model and j.get("impl") == impl]
            if pts:
                plt.plot(*zip(*sorted(pts)), "o-", label=f"{model} {impl}")
    plt.xscale("log", base=2)
    plt.yscale("log")
    plt.xlabel("batch")
    plt.ylabel("tokens/s (prompt 128, 256 new, greedy, fp16)")
    plt.title("Decode throughput, H200, 2026-11-26")
    plt.legend(fontsize=7)
    plt.tight_layout()
    plt.savefig(os.path.join(plots, "decode_bench_h200.png"), dpi=120)
    longc = json.load(open(os.path.join(d, "long_context_h200.json")))
    with open(os.path.join(d, "long_context_h200.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["context", "dense_layers", "mode", "step_ms"])
        for j in longc:
            w.writerow([j["context"], j["dense_layers"], j["mode"], j["step_ms_median"]])
    plt.figure(figsize=(6, 4))
    for dl in (2, 0):
        for mode in ("dense", "sparse"):
            pts = sorted((j["context"], j["step_ms_median"]) for j in longc if j["dense_layers"] == dl and j["mode"] == mode)
            if pts:
                plt.plot(*zip(*pts), "o-", label=f"{mode}, dense_layers {dl}")
    plt.xscale("log", base=2)
    plt.xlabel("context (tokens)")
    plt.ylabel("ms per decode step (batch 16)")
    plt.title("TinyLlama shape, sparse vs dense decode, H200")
    plt.legend()
    plt.tight_layout()
    plt.savefig(os.path.join(plots, "long_context_h200.png"), dpi=120)
    print("wrote", sorted(f for f in os.listdir(d) if f.endswith((".png", ".csv"))))


if __name__ == "__main__":
    main()
