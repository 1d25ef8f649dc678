#!/usr/bin/env python3
"""Chunked prefill (`score --mode prefill --prefill-chunk N`) computes the same logits as one prefill step:
later chunks attend to the keys the earlier chunks cached (CPU target; the GPU check runs the same on CUDA)."""
import sys

import numpy as np

from fixture_exe import build_cpu, fixture_vocab, parse_args, scorer


def main():
    a = parse_args()
    exe = build_cpu(a)
    ids = np.random.default_rng(11).integers(0, fixture_vocab(a.fixture), size=(2, 70), dtype=np.int64)
    score = scorer(exe, ids, a.workdir, "prefill")
    whole = score()
    ok = True
    for chunk in (16, 33):
        part = score("--prefill-chunk", str(chunk))
        rel = float(np.abs(part - whole).max() / np.abs(whole).max())
        good = rel <= 1e-5 and bool((part.argmax(-1) == whole.argmax(-1)).all())
        print(f"chunks of {chunk}: max rel diff {rel:.2e} vs one step{'' if good else '  FAIL'}")
        ok = ok and good
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
