#!/usr/bin/env python3
# replay: runs every saved fuzz input (regressions/) through tsc or the sanitized fuzz target, and fails on a crash.
"""Usage: replay.py --tsc TSC REGRESSIONS_DIR
       replay.py --fuzzer FUZZ_IMPORT REGRESSIONS_DIR

--tsc: each input must compile (--emit=graph and --emit=spec exit 0) or be rejected the way users are told
about bad input: exit status 1 and stderr starting with "tsc: error:". A signal, another exit status or an
uncaught exception is a failure.
--fuzzer: the input is run once through fuzz_import (ASan + UBSan build); any sanitizer report or crash is a
failure (its exit status is non-zero).
REGRESSIONS_DIR/open_bugs.txt lists inputs known to still fail, one per line: "NAME RUNNERS  # why", RUNNERS
being tsc, fuzz or tsc,fuzz. Those must keep failing with that runner (so the list is trimmed when a bug is
fixed) and do not fail the run.
"""
import argparse
import os
import subprocess
import sys


def run(cmd, timeout=120):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def verdict_tsc(tsc, path):
    for emit in ("graph", "spec"):
        p = run([tsc, path, f"--emit={emit}"])
        if p is None:
            return f"--emit={emit}: no result in 120 s"
        if p.returncode < 0:
            return f"--emit={emit}: killed by signal {-p.returncode}"
        if p.returncode == 1 and p.stderr.startswith("tsc: error:"):
            return None
        if p.returncode != 0:
            first = (p.stderr.strip().splitlines() or ["(no stderr)"])[0]
            return f"--emit={emit}: exit status {p.returncode}: {first}"
    return None


def signature(stderr, returncode):
    """One line naming the bug site: the sanitizer's SUMMARY (file:line of the fault), and for generic reports
    (deadly signal, uncaught exception) the innermost tsc:: frame as well."""
    lines = stderr.splitlines()
    summary = next((l.strip() for l in lines if l.startswith("SUMMARY:")), f"exit status {returncode}")
    if "deadly signal" in summary or "exit status" in summary:
        frame = next((l.split(" in ", 1)[1].strip() for l in lines if l.lstrip().startswith("#") and " in tsc::" in l), "")
        what = next((l.strip() for l in lines if "what():" in l or "terminate called" in l), "")
        summary = " | ".join(x for x in (summary, what, frame) if x)
    return summary


def verdict_fuzzer(fuzzer, path):
    p = run([fuzzer, "-runs=1", "-rss_limit_mb=4096", "-malloc_limit_mb=4096", "-timeout=60", path])
    if p is None:
        return "no result in 120 s"
    if p.returncode == 0:
        return None
    return signature(p.stderr, p.returncode)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--tsc")
    g.add_argument("--fuzzer")
    ap.add_argument("folder")
    ap.add_argument("--signatures", help="with --fuzzer: write the signature of every failing input to this file")
    a = ap.parse_args()
    runner = "tsc" if a.tsc else "fuzz"
    open_bugs = {}
    listed = os.path.join(a.folder, "open_bugs.txt")
    if os.path.exists(listed):
        for line in open(listed):
            fields = line.split("#", 1)[0].split()
            if len(fields) == 2:
                open_bugs[fields[0]] = set(fields[1].split(","))
    # Regressions are .onnx files; a folder of libFuzzer artifacts (crash-<sha1>) is replayed whole.
    inputs = sorted(f for f in os.listdir(a.folder) if f.endswith(".onnx") or f.startswith(("crash-", "oom-", "timeout-", "leak-")))
    bad = 0
    sigs = []
    for name in inputs:
        path = os.path.join(a.folder, name)
        v = verdict_tsc(a.tsc, path) if a.tsc else verdict_fuzzer(a.fuzzer, path)
        if v is not None:
            sigs.append(v)
        expected_fail = runner in open_bugs.get(name, set())
        if expected_fail and v is None:
            print(f"FIXED?  {name}: no longer fails with {runner}; update open_bugs.txt")
            bad += 1
        elif expected_fail:
            print(f"XFAIL   {name}: {v}")
        elif v is not None:
            print(f"FAIL    {name}: {v}")
            bad += 1
        else:
            print(f"PASS    {name}")
    for name in sorted(set(open_bugs) - set(inputs)):
        print(f"FAIL    open_bugs.txt lists {name}, which is not in {a.folder}")
        bad += 1
    if a.signatures:
        with open(a.signatures, "w") as f:
            f.write("".join(x + "\n" for x in sigs))
    print(f"replay ({runner}): {len(inputs)} inputs, {bad} unexpected")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
