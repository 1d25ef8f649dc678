#!/usr/bin/env python3
"""End-to-end check of one fixture on the CPU target: tsc builds model_server, `score` in prefill and in
dense decode mode (also after a dense prefill of the first half, --prefill-tokens) must match onnxruntime's
logits stored beside the fixture (fp32 weights: max abs error <= 1e-3 x max|logit|, identical argmax at every
position), batch 2; --prefill-tokens that leaves nothing to decode is refused naming the value.
--model, --ids, --ref and --rel-tol check another file of the fixture (the hub-layout fixtures keep several forms
of one model in onnx/ and their references in reference/; fp16 forms are held to 2e-2 x max|logit|)."""
import os
import subprocess
import sys

import numpy as np

from fixture_exe import build_cpu, parse_args


def compare(name, got, ref, rel_tol):
    if got.shape[1] != ref.shape[1]:  # *_tok fixtures store only the last position
        got = got[:, -ref.shape[1]:]
    err = float(np.abs(got - ref).max())
    scale = float(np.abs(ref).max())
    agree = float((got.argmax(-1) == ref.argmax(-1)).mean())
    ok = err <= rel_tol * scale and agree == 1.0
    print(f"{name}: max|err| {err:.3g} = {err / scale:.3g} x max|logit|, argmax agreement {agree:.4f} -> {'ok' if ok else 'FAIL'}")
    return ok


def main():
    def extra_args(ap):
        ap.add_argument("--ids", help="input ids (default: the fixture's input_ids.npy)")
        ap.add_argument("--ref", help="reference logits (default: the fixture's logits.npy)")
        ap.add_argument("--rel-tol", type=float, default=1e-3, help="max|err| bound as a fraction of max|logit|")

    a = parse_args(add_args=extra_args)
    exe = build_cpu(a)
    ids = a.ids or os.path.join(a.fixture, "input_ids.npy")
    ref = np.load(a.ref or os.path.join(a.fixture, "logits.npy"))
    ok = True
    seq = np.load(ids).shape[1]
    half = ["--prefill-tokens", str(seq // 2)]
    for mode, extra in (("prefill", []), ("decode", ["--dense"]), ("decode", ["--dense"] + half)):
        out = os.path.join(a.workdir, f"logits_{mode}.npy")
        subprocess.run([exe, "score", "--input-ids", ids, "--out", out, "--mode", mode] + extra, check=True)
        ok &= compare(f"{os.path.basename(a.fixture)} {mode} {' '.join(extra)}", np.load(out), ref, a.rel_tol)
    bad = subprocess.run([exe, "score", "--input-ids", ids, "--out", os.devnull, "--mode", "decode", "--prefill-tokens", str(seq)],
                         capture_output=True, text=True)
    refused = bad.returncode != 0 and f"--prefill-tokens {seq} leaves nothing to decode" in bad.stderr
    print(f"--prefill-tokens {seq} refused: {'ok' if refused else 'FAIL: ' + repr(bad.stderr)}")
    ok &= refused
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
