#!/usr/bin/env python3
"""Where a decode step's time goes, kernel by kernel: runs `EXE bench` eagerly under Nsight Compute (ncu,
clocks left alone) over a window of whole decode steps, and prints per kernel family the calls per step,
median time, DRAM bytes and achieved bandwidth, and their sum per step. ncu serializes kernels, so the sum
is the step without launch gaps or PDL overlap; compare it with the graph-replayed step time.

Usage: python3 tools/gpu/profile_decode.py EXE [--batch 1] [--steps 4] [--csv OUT.csv] [--json OUT.json]
       python3 tools/gpu/profile_decode.py EXE --detail decode_attention   (ncu's full report of one launch)"""
import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys


def short(name):
    n = name.split("(")[0].replace("void ", "").replace("tsc::cuda::", "")
    return n if len(n) < 70 else n[:67] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("--batch", default="1")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--skip", type=int, default=1500, help="launches to skip (prefill and the first decode steps)")
    ap.add_argument("--per-step", type=int, default=160,
                    help="launches per decode step, to size the captured window (steps are counted by their argmax launches)")
    ap.add_argument("--csv")
    ap.add_argument("--json")
    ap.add_argument("--detail", help="instead: ncu's full report (stall reasons, occupancy) of one launch of kernels matching this regex")
    a = ap.parse_args()
    if a.detail:
        cmd = ["ncu", "--clock-control", "none", "--set", "full", "--import-source", "no", "--kernel-name", f"regex:{a.detail}",
               "--launch-skip", "60", "--launch-count", "1",
               a.exe, "bench", "--batch", a.batch, "--prompt-len", "128", "--gen", "32", "--dense"]
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TSC_CUDA_GRAPHS": "0"}, timeout=900)
        print(p.stdout[-20000:], p.stderr[-2000:])
        return
    cmd = ["ncu", "--clock-control", "none", "--cache-control", "none", "--csv", "--print-units", "base",
           "--metrics", "gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum",
           "--launch-skip", str(a.skip), "--launch-count", str(a.per_step * a.steps),
           a.exe, "bench", "--batch", a.batch, "--prompt-len", "128", "--gen", "32", "--dense"]
    env = {**os.environ, "TSC_CUDA_GRAPHS": "0"}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if a.csv:
        open(a.csv, "w").write(p.stdout)
    rows = [r for r in csv.reader(io.StringIO(p.stdout[p.stdout.find('"ID"'):]))] if '"ID"' in p.stdout else []
    if not rows:
        print("ncu produced no CSV:", p.stderr[-2000:], p.stdout[-2000:], file=sys.stderr)
        sys.exit(1)
    head = rows[0]
    ix = {k: head.index(k) for k in ("ID", "Kernel Name", "Grid Size", "Metric Name", "Metric Value")}
    kern = {}
    for r in rows[1:]:
        if len(r) < len(head):
            continue
        k = kern.setdefault(r[ix["ID"]], {"name": short(r[ix["Kernel Name"]]), "grid": r[ix["Grid Size"]]})
        k[r[ix["Metric Name"]]] = float(r[ix["Metric Value"]].replace(",", ""))
    steps = sum(1 for k in kern.values() if k["name"].startswith("argmax")) or 1
    fam = {}
    for k in kern.values():
        # Same kernel and grid but different weights (QKV vs gate/up): told apart by the bytes they move.
        mb = (k["dram__bytes_read.sum"] + k["dram__bytes_write.sum"]) / 1e6
        fam.setdefault((k["name"], k["grid"], round(mb, -1) if mb > 5 else 0), []).append(k)
    out = []
    total_ns = 0.0
    for (name, grid, _), ks in sorted(fam.items(), key=lambda kv: -sum(x["gpu__time_duration.sum"] for x in kv[1])):
        t = [x["gpu__time_duration.sum"] for x in ks]
        b = [x["dram__bytes_read.sum"] + x["dram__bytes_write.sum"] for x in ks]
        med_t, med_b = statistics.median(t), statistics.median(b)
        total_ns += sum(t) / steps
        out.append({"kernel": name, "grid": grid, "calls_per_step": len(ks) / steps, "median_us": med_t / 1e3,
                    "median_mb": med_b / 1e6, "tb_s": med_b / med_t / 1e3 if med_t else 0.0, "us_per_step": sum(t) / steps / 1e3})
    print(f"{'kernel':70} {'grid':>14} {'/step':>6} {'us':>8} {'MB':>8} {'TB/s':>6} {'us/step':>8}")
    for o in out:
        print(f"{o['kernel']:70} {o['grid']:>14} {o['calls_per_step']:6.1f} {o['median_us']:8.2f} {o['median_mb']:8.2f} {o['tb_s']:6.2f} {o['us_per_step']:8.1f}")
    print(f"sum of kernel times per decode step: {total_ns / 1e3:.1f} us over {steps} steps")
    if a.json:
        json.dump({"batch": int(a.batch), "steps": steps, "sum_us_per_step": total_ns / 1e3, "kernels": out}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
