#!/usr/bin/env python3
"""Perplexity of SmolLM2-135M-Instruct over long real documents through `model_server score --mode decode`
(one token per step through the paged decode path, where page selection acts), for page budgets given in
tokens (budget pages = tokens / page size; the first page and the last, partly filled one are part of it).

One cell = one executable configuration (page size, dense layers, weight dtype) x one budget x one
selection variant, run on a batch of documents (all rows decode together). Each cell writes
WORK/results/ppl/<cell>.npz (per-position NLL in nats, float64, [docs, len-1]; with the dense reference
also KL(dense || cell) and top-1 agreement) and <cell>.json (command, seconds, pages kept). Finished cells
are skipped, so an interrupted grid resumes where it stopped. The dense cell of a (documents, length,
dtype) is run first and its logits kept (WORK/logits/) as the reference of the other cells.

    python3 tools/accuracy/ppl.py --work /tmp/acc --docs gpl3,vim_usr41,node_stream,argparse --len 4096 \
        --page 16 --budgets 128,256,512,1024,2048,dense
Setup: bash tools/demo.sh (build/bin/tsc and the SmolLM2 model in models/cache).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="scratch folder: executables, ids, logits, results")
    ap.add_argument("--tsc", default=os.path.join(common.ROOT, "build", "bin", "tsc"))
    ap.add_argument("--docs", default="gpl3,vim_usr41,node_stream,argparse")
    ap.add_argument("--len", type=int, default=4096, help="tokens per document (with the leading <|endoftext|>)")
    ap.add_argument("--page", type=int, default=16)
    ap.add_argument("--budgets", default="128,256,512,1024,2048,dense", help="tokens, or 'dense'")
    ap.add_argument("--cap", type=int, default=2048, help="compiled --top-k-pages = cap / page (tokens)")
    ap.add_argument("--dense-layers", type=int, default=2)
    ap.add_argument("--dtype", default="bf16", help="f32, f16, bf16, or quantized projections: int8, int4g32, int4g128 (common.dtype_flags)")
    ap.add_argument("--select-reduce", default="sum", choices=["sum", "max"])
    ap.add_argument("--no-sink", action="store_true")
    ap.add_argument("--page-score", default="bound", choices=["bound", "sketch"],
                    help="the build's page score (tsc --page-score): the key bound or the key sketch")
    ap.add_argument("--select-score", default="bound",
                    choices=["bound", "oracle", "subpage2", "subpage4", "sphere", "subpage2sphere", "qsum", "qsumsphere",
                             "gauss", "boundsoft", "subpage2gauss", "gausscap", "boxgauss", "sketch1", "sketch2", "sketch1half",
                             "sketch1quarter"],
                    help="oracle: rank pages by the attention mass exact attention gives them (what the bound costs); "
                         "subpage2/subpage4/sphere/subpage2sphere/qsum/qsumsphere: tighter upper bounds screened from the keys; "
                         "gauss/boundsoft/subpage2gauss/gausscap/boxgauss/sketch*: estimated attention mass (score --help)")
    ap.add_argument("--prefill", type=int, default=0,
                    help="prefill the first N tokens densely (a served prompt) and decode the rest; 0: decode every token")
    ap.add_argument("--select-every", type=int, default=1,
                    help="score pages every N decode steps and reuse the kept pages in between (score --select-every)")
    ap.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of model_server")
    ap.add_argument("--keep-logits", action="store_true", help="keep every cell's logits (default: the dense one only)")
    a = ap.parse_args()

    work = os.path.abspath(a.work)
    for sub in ("ids", "logits", "results/ppl"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    names = a.docs.split(",")
    setname = "+".join(names)
    ids_path = os.path.join(work, "ids", f"{setname}_L{a.len}.npy")
    tok = common.tokenizer()
    rows, hashes = [], {}
    for n in names:
        r, h = common.doc_ids(n, a.len, tok)
        rows.append(r)
        hashes[n] = h
    ids = np.stack(rows)
    if not os.path.exists(ids_path):
        np.save(ids_path, ids)
    assert np.array_equal(np.load(ids_path), ids)

    pf = f"_pf{a.prefill}" if a.prefill else ""
    ref_logits = os.path.join(work, "logits", f"dense_{setname}_L{a.len}{pf}_{a.dtype}.npy")
    budgets = a.budgets.split(",")
    # Dense first: its logits are the reference of the others.
    budgets = [b for b in budgets if b == "dense"] + [b for b in budgets if b != "dense"]  # else as given
    topk = a.cap // a.page
    exe = common.build_exe(a.tsc, work, a.page, topk, a.dense_layers, a.dtype, page_score=a.page_score)
    variant = (a.select_reduce + ("_nosink" if a.no_sink else "") + ("" if a.select_score == "bound" else "_" + a.select_score) +
               ("" if a.page_score == "bound" else "_page" + a.page_score) + ("" if a.select_every == 1 else f"_every{a.select_every}"))
    for b in budgets:
        dense = b == "dense"
        if dense:
            # Dense decode does not depend on the page size beyond rounding, nor on the selection variant.
            cell = f"{setname}_L{a.len}{pf}_{a.dtype}_dense_p{a.page}_d{a.dense_layers}"
        else:
            cell = f"{setname}_L{a.len}{pf}_{a.dtype}_p{a.page}_d{a.dense_layers}_{variant}_b{b}"
        res = os.path.join(work, "results", "ppl", cell)
        if os.path.exists(res + ".json"):
            print(f"[skip] {cell}")
            continue
        pages = None if dense else int(b) // a.page
        if not dense and (int(b) % a.page or pages > topk or pages < 2):
            raise SystemExit(f"budget {b} tokens is not 2..{topk} pages of {a.page}")
        out = ref_logits if dense else os.path.join(work, "logits", cell + ".npy")
        print(f"[run] {cell} ...", flush=True)
        secs, err, cmd = common.run_score(exe, ids_path, out, pages, a.select_reduce, a.no_sink, a.threads, a.prefill, a.select_score,
                                            1 if dense else a.select_every)
        t0 = time.time()
        have_ref = not dense and os.path.exists(ref_logits)
        nll, kl, agree = common.position_losses(out, ids, ref_logits if have_ref else None)
        arrays = {"nll": nll}
        if have_ref:
            arrays.update(kl=kl, agree=agree)
        np.savez_compressed(res + ".npz", **arrays)
        if not dense and not a.keep_logits:
            os.remove(out)
        meta = {"cell": cell, "docs": names, "sha256": hashes, "len": a.len, "page": a.page, "topk_compiled": topk,
                "dense_layers": a.dense_layers, "dtype": a.dtype, "budget_tokens": None if dense else int(b),
                "budget_pages": pages, "select_reduce": a.select_reduce, "no_sink": a.no_sink, "prefill": a.prefill, "select_score": a.select_score,
                "page_score": a.page_score, "select_every": a.select_every,
                "command": " ".join(os.path.relpath(c, work) if c.startswith(work) else c for c in cmd),
                "exe": os.path.basename(exe), "threads": a.threads, "score_seconds": round(secs, 1),
                "analysis_seconds": round(time.time() - t0, 1), "score_stderr": err,
                "nll_mean": float(nll.mean()), "ppl": float(np.exp(nll.mean())),
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": common.machine()}
        common.save_json(res + ".json", meta)
        print(f"[done] {cell}: ppl {meta['ppl']:.4f} in {secs:.0f} s ({err.splitlines()[-1] if err else ''})", flush=True)


if __name__ == "__main__":
    main()
