#!/usr/bin/env python3
"""Where decode attention's time goes, line by line: runs attn_bench (built with -lineinfo) under Nsight
Compute (clocks left alone) for one launch of the selecting or the dense kernel, then prints ncu's summary
(duration, throughput, occupancy, warp states) and the CUDA source lines with the most warp-stall samples.
The full reports are written beside --out for ncu-ui.

Usage: python3 tools/gpu/profile_attn.py ATTN_BENCH --kernel sparse|dense [--context 32768] [--batch 16]
       [--budget-tokens 2048] [--top 30] --out PREFIX"""
import argparse
import csv
import io
import subprocess
import sys


def run(cmd, timeout=900):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("--kernel", choices=("sparse", "dense"), default="sparse")
    ap.add_argument("--context", default="32768")
    ap.add_argument("--batch", default="16")
    ap.add_argument("--budget-tokens", default="2048")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    # The selecting instantiation has SELECT = true as its sixth template argument, the dense one false.
    # (ncu demangles it as "..._kernel<__half, (int)64, (int)16, (int)512, (int)8, (bool)1, ...").
    regex = r"regex:decode_attention\w*kernel<[^,]+(, \(int\)\d+){4}, \(bool\)" + ("1" if a.kernel == "sparse" else "0")
    rep = f"{a.out}_{a.kernel}"
    rc, out, err = run(["ncu", "--clock-control", "none", "--set", "full", "--import-source", "yes", "--kernel-name-base", "demangled",
                        "--kernel-name", regex, "--launch-skip", "3", "--launch-count", "1", "-f", "-o", rep,
                        a.bench, "--batch", a.batch, "--context", a.context, "--budget-tokens", a.budget_tokens, "--iters", "5"])
    if rc != 0 or "No kernels were profiled" in out + err:
        print(f"ncu failed (rc {rc}): {(out + err)[-2000:]}", file=sys.stderr)
        sys.exit(1)
    _, details, _ = run(["ncu", "-i", rep + ".ncu-rep", "--page", "details"])
    open(rep + "_details.txt", "w").write(details)
    keep = ("Duration", "DRAM Throughput", "Memory Throughput", "Compute (SM) Throughput", "Achieved Occupancy", "Registers Per Thread",
            "Block Limit", "Grid Size", "Dynamic Shared Memory", "Static Shared Memory", "Warp Cycles Per Issued Instruction", "L2 Hit Rate")
    print(f"== {a.kernel} kernel, batch {a.batch}, context {a.context}, budget {a.budget_tokens} tokens")
    for line in details.splitlines():
        if any(k in line for k in keep):
            print("  " + " ".join(line.split()))
    top_lines(rep, "sass", a.top)


def top_lines(rep, mode, top):
    """The `mode` source page (cuda: lines of every file; sass: instructions) as CSV beside the report; prints
    the warp-stall samples per stall reason and the `top` lines with the most samples, with their reasons."""
    rc, src, err = run(["ncu", "-i", rep + ".ncu-rep", "--page", "source", "--csv", "--print-source", mode])
    open(f"{rep}_source_{mode}.csv", "w").write(src)
    lines = src.splitlines()
    # A "Kernel Name" or "File Name" line precedes each table's header row.
    starts = [i for i, l in enumerate(lines) if l.startswith('"Address"') or l.startswith('"Line No"') or l.startswith('"#"')]
    body, head = [], None
    for k, i0 in enumerate(starts):
        i1 = starts[k + 1] - 1 if k + 1 < len(starts) else len(lines)
        rows = list(csv.reader(io.StringIO("\n".join(lines[i0:i1]))))
        if head is None or len(rows[0]) > len(head):
            head = rows[0]
        body += [r for r in rows[1:] if len(r) == len(rows[0]) and len(rows[0]) == len(head)]
    if head is None or "Warp Stall Sampling (All Samples)" not in head:
        print(f"  {mode} source page: no stall samples (rc {rc}) {err[-200:]}")
        return
    stall, text = head.index("Warp Stall Sampling (All Samples)"), 1
    reasons = [(i, h) for i, h in enumerate(head) if h.startswith("stall_") and "Not Issued" not in h]

    def num(s):
        try:
            return float(s.replace(",", ""))
        except ValueError:
            return 0.0
    total = sum(num(r[stall]) for r in body) or 1.0
    by_reason = sorted(((sum(num(r[i]) for r in body), h) for i, h in reasons), reverse=True)
    print(f"  {mode}: {total:.0f} warp-stall samples; by reason: " +
          ", ".join(f"{h[6:]} {100 * v / total:.0f}%" for v, h in by_reason[:7]))
    # Where in the kernel: samples per run of 100 instructions (in address order, which follows the code's
    # phases), with the kinds of memory and sync instructions each run holds.
    print(f"  {mode} samples per 100 instructions:")
    kinds = ("LDG", "LDGSTS", "BAR", "ATOMS", "ATOMG", "HMMA", "SHFL", "MATCH", "NANOSLEEP", "MUFU")
    for i0 in range(0, len(body), 100):
        v = sum(num(r[stall]) for r in body[i0:i0 + 100])
        if v / total >= 0.01:
            ops = [r[text].strip().lstrip("@!PT0123456789 ").split(" ")[0] for r in body[i0:i0 + 100]]
            print(f"  {i0:5d}-{i0 + 99:<5d} {100 * v / total:5.1f}%  {' '.join(k for k in kinds if any(o.startswith(k) for o in ops))}")
    print(f"  top {top} {mode} lines:")
    for k in sorted(sorted(range(len(body)), key=lambda k: -num(body[k][stall]))[:top]):
        r = body[k]
        why = sorted(((num(r[i]), h[6:]) for i, h in reasons if num(r[i]) > 0), reverse=True)[:2]
        print(f"  {k:5d} {100 * num(r[stall]) / total:5.1f}%  {r[text].strip()[:80]:80} {' '.join(f'{h}={v:.0f}' for v, h in why)}")

if __name__ == "__main__":
    main()
