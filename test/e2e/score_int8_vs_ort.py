#!/usr/bin/env python3
"""End-to-end check of an 8-bit file (quantize_dynamic: DynamicQuantizeLinear + MatMulInteger) on the CPU target.
Such a file quantizes each MatMul's input per tensor, so its logits depend on which rows are quantized together:
tsc quantizes each sequence's tokens of a step together, which is what onnxruntime computes running that sequence
alone with the same steps. So the reference is onnxruntime on the same file, one sequence at a time, fed in the same
chunks as each `score` run (past key values carried): prefill in one step and in chunks of 5, dense decode one token
a step and after a prefill of half the tokens. Bound: max abs error <= 1e-3 x max|logit|, identical argmax."""
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

from fixture_exe import build_cpu, parse_args


def ort_chunked(path, ids, chunks):
    """Logits [B, S, V] of onnxruntime on `path`, each sequence alone (batch 1), fed chunk by chunk (sizes `chunks`)."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    past_inputs = [i for i in sess.get_inputs() if i.name.startswith("past_key_values.")]
    out_names = [o.name for o in sess.get_outputs()]
    rows = []
    for b in range(ids.shape[0]):
        past = {i.name: np.zeros((1, i.shape[1], 0, i.shape[3]), np.float32) for i in past_inputs}
        start, parts = 0, []
        for n in chunks:
            end = start + n
            feeds = {"input_ids": ids[b:b + 1, start:end], "attention_mask": np.ones((1, end), np.int64), **past}
            if "position_ids" in names:
                feeds["position_ids"] = np.arange(start, end, dtype=np.int64)[None]
            outs = dict(zip(out_names, sess.run(out_names, feeds)))
            parts.append(outs["logits"].astype(np.float32))
            past = {k.replace("present.", "past_key_values."): v for k, v in outs.items() if k.startswith("present.")}
            start = end
        rows.append(np.concatenate(parts, axis=1))
    return np.concatenate(rows, axis=0)


def check(exe, model, ids_path, workdir):
    """`exe score` against onnxruntime on `model` in the same chunks (prefill whole and in chunks of 5, dense decode
    one token a step and after a half prefill); prints each comparison, returns whether all are within the bound."""
    ids = np.load(ids_path)
    S = ids.shape[1]
    half = S // 2
    runs = [(["--mode", "prefill"], [S]),
            (["--mode", "prefill", "--prefill-chunk", "5"], [5] * (S // 5) + ([S % 5] if S % 5 else [])),
            (["--mode", "decode", "--dense"], [1] * S),
            (["--mode", "decode", "--dense", "--prefill-tokens", str(half)], [half] + [1] * (S - half))]
    ok = True
    for flags, chunks in runs:
        out = os.path.join(workdir, "logits.npy")
        subprocess.run([exe, "score", "--input-ids", ids_path, "--out", out, *flags], check=True)
        got, ref = np.load(out), ort_chunked(model, ids, chunks)
        err, scale = float(np.abs(got - ref).max()), float(np.abs(ref).max())
        agree = float((got.argmax(-1) == ref.argmax(-1)).mean())
        good = err <= 1e-3 * scale and agree == 1.0
        print(f"{' '.join(flags)} (onnxruntime in chunks {chunks}): max|err| {err:.3g} = {err / scale:.3g} x max|logit|, "
              f"argmax agreement {agree:.4f} -> {'ok' if good else 'FAIL'}")
        ok &= good
    return ok


def main():
    a = parse_args()
    exe = build_cpu(a)
    sys.exit(0 if check(exe, a.model, os.path.join(a.fixture, "reference", "input_ids.npy"), a.workdir) else 1)


if __name__ == "__main__":
    main()
