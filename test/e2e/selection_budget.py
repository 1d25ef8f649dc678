#!/usr/bin/env python3
"""Page selection end to end on the CPU target: decode with a budget that covers every page must equal
dense decode exactly (bit for bit), and a small budget on a long sequence must change the logits while
staying close to dense (the selection is an approximation, not noise)."""
import sys

import numpy as np

from fixture_exe import build_cpu, fixture_vocab, parse_args, scorer


def main():
    a = parse_args()
    page = 4
    exe = build_cpu(a, "--page-size", str(page), "--top-k-pages", "32", "--dense-layers", "0")
    vocab = fixture_vocab(a.fixture)
    seq = 96  # 24 pages of 4 tokens
    ids = np.random.default_rng(7).integers(0, vocab, size=(2, seq), dtype=np.int64)
    score = scorer(exe, ids, a.workdir, "decode")
    dense = score("--dense")
    full = score("--top-k-pages", str(seq // page))  # budget == number of pages at the last step
    small = score("--top-k-pages", "4")
    ok = True
    if not np.array_equal(dense, full):
        print("FAIL: a budget covering every page differs from dense:", float(np.abs(dense - full).max()))
        ok = False
    # Positions that fit in 4 pages (16 tokens) are exact; later ones attend to 4 of up to 24 pages.
    early, late = slice(0, 4 * page), slice(8 * page, seq)
    if not np.array_equal(dense[:, early], small[:, early]):
        print("FAIL: selection changed positions that fit in the budget")
        ok = False
    diff = float(np.abs(dense[:, late] - small[:, late]).max())
    if diff == 0.0:
        print("FAIL: a 4-page budget on 24 pages gave exactly the dense logits; selection did not act")
        ok = False
    print(f"budget covering all pages == dense: {np.array_equal(dense, full)}; 4-page budget max |diff| on late positions {diff:.3g}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
