#!/usr/bin/env python3
"""One run on the GPU machine: builds every fixture and the full-size random models for both targets,
compares CUDA logits with the CPU target (and onnxruntime), runs compute-sanitizer on a small model and
times decoding; full logs under $OUT, a short table last.

Usage (on the GPU machine, from the repository root): python3 tools/gpu/check.py [--skip full,sanitizer,bench] [--only serve]
Selection reuse timing alone (TinyLlama shape, batch 16, 32k, --select-every 1/2/4/8 against dense):
    bash tools/gpu/run.sh --only select_every
One engine per GPU against one GPU (issue 19; needs a 2-GPU kind, e.g. nvidia-h100-x2, and .carry/tokenizer):
    bash tools/gpu/run.sh --only serve_multi
Environment: TSC (path of tsc), TSC_LIB_DIR, TSC_SOURCE_DIR, OUT (results folder)."""
import argparse
import concurrent.futures as cf
import glob
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.environ.get("OUT", "/tmp/out")
WORK = os.environ.get("TSC_WORK", "/tmp/tsc-work")
TSC = os.environ.get("TSC", os.path.join(ROOT, "build", "bin", "tsc"))
FIX = os.path.join(ROOT, "test", "Inputs", "fixtures")
LOG = open(os.path.join(OUT, "check.log"), "a")
ROWS = []


def log(*a):
    msg = " ".join(str(x) for x in a)
    print(msg, flush=True)
    LOG.write(msg + "\n")
    LOG.flush()


def sh(cmd, timeout=1200, check=True, env=None):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    LOG.write(f"$ {' '.join(cmd)}  ({time.time() - t0:.1f} s, rc {p.returncode})\n{p.stdout[-4000:]}{p.stderr[-4000:]}\n")
    LOG.flush()
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed rc={p.returncode}: {p.stderr.strip()[-800:]}")
    return p


def row(what, result, detail=""):
    ROWS.append((what, result, detail))
    log(f"[{result}] {what} {detail}")


def build(model, exe, target, *extra):
    if os.environ.get("TSC_CHECK_DRY_RUN") and target == "cuda":  # exercise this script on a machine without a GPU
        target = "cpu"
    t0 = time.time()
    sh([TSC, model, "-o", exe, "--target", target, *extra])
    return time.time() - t0


def build_all(jobs):
    """Builds (model, exe, target, extra flags) jobs 8 at a time; a failed build is a FAIL row, the rest go on."""
    with cf.ThreadPoolExecutor(8) as ex:
        futs = {ex.submit(build, *j[:3], *j[3]): j for j in jobs}
        for f in cf.as_completed(futs):
            try:
                f.result()
            except Exception as e:  # noqa: BLE001
                row(f"build {futs[f][1]}", "FAIL", str(e)[:300])


def score(exe, ids, mode, *extra, prefix=(), env=None):
    out = exe + f".{mode}{''.join(extra).replace('-', '')}.npy"
    sh([*prefix, exe, "score", "--input-ids", ids, "--out", out, "--mode", mode, *extra], timeout=1800, env=env)
    return np.load(out)


# The flash prefill kernel's 32-rows-per-warp variant runs only on large grids; this forces it on short inputs.
ROWS128 = {**os.environ, "TSC_PREFILL_ROWS": "128"}


def compare(a, ref):
    if a.shape[1] != ref.shape[1]:
        a = a[:, -ref.shape[1]:]
    err = float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-30))
    agree = float((a.argmax(-1) == ref.argmax(-1)).mean())
    return err, agree


def argmax_gap(a, ref):
    """Over the positions whose argmax differs: the largest gap, in the reference's logits, between its top
    token and the one `a` picked, over max |ref| (how near a tie each disagreement is); 0 if none differ."""
    if a.shape[1] != ref.shape[1]:
        a = a[:, -ref.shape[1]:]
    pick = a.argmax(-1)
    top = ref.max(-1)
    at_pick = np.take_along_axis(ref, pick[..., None], -1)[..., 0]
    diff = pick != ref.argmax(-1)
    return float((top - at_pick)[diff].max() / max(np.abs(ref).max(), 1e-30)) if diff.any() else 0.0


# A selection difference between the targets counts as a near tie when the pages swapped score within this
# fraction of the scores' magnitude (score --select-replay's "largest score gap"): fp16 q and bounds on the GPU
# against fp32 on the CPU move page scores by ~1e-3 of it.
TIE_GAP = 1e-2


def sparse_vs_cpu(gpu_exe, cpu_exe, ids, *extra):
    """Sparse decode, CUDA vs CPU, on the same page selection: the GPU records its selection (--select-trace),
    the CPU attends to those pages (--select-replay) and reports where its own top-k differs and by what score
    gap. Returns (rel err, argmax, gap, differing/replayed, free-running rel err, free-running argmax): the
    last two are each target on its own selection, where near ties go either way."""
    trace, out_g, out_r = gpu_exe + ".trace.npy", gpu_exe + ".sparse.npy", cpu_exe + ".replay.npy"
    sh([gpu_exe, "score", "--input-ids", ids, "--out", out_g, "--mode", "decode", *extra, "--select-trace", trace], timeout=1800)
    p = sh([cpu_exe, "score", "--input-ids", ids, "--out", out_r, "--mode", "decode", *extra, "--select-replay", trace], timeout=1800)
    m = re.search(r"replayed (\d+) selections; (\d+) differ from this target's own top-k; largest score gap (\S+)", p.stderr)
    if not m:
        raise RuntimeError(f"no replay report from {cpu_exe}: {p.stderr.strip()[-300:]}")
    g, r = np.load(out_g), np.load(out_r)
    err, agree = compare(g, r)
    ferr, fagree = compare(g, score(cpu_exe, ids, "decode", *extra))
    return err, agree, float(m[3]), f"{m[2]}/{m[1]}", ferr, fagree, argmax_gap(g, r), g.shape[0] * g.shape[1]


def sparse_row(what, r):
    err, agree, gap, differ, ferr, fagree, agap, n = r
    ok = verdict(err, agree, 1e-2, 0.99) == "ok" and gap <= TIE_GAP
    row(what, "ok" if ok else "FAIL", f"rel {err:.2e} argmax {agree:.3f} of {n} (largest logit gap of a disagreement {agap:.1e}) on the "
        f"cuda selection; cpu's own top-k differs in {differ} selections, largest score gap {gap:.1e} (tie bar {TIE_GAP:g}) | "
        f"each on its own selection: rel {ferr:.2e} argmax {fagree:.3f}")


def reuse_row(n, gpu4, cpu4, ids):
    """Selection reuse (--select-every 4, page 4, budget 4) on the GPU: the trace of an eager run follows the rule of
    runtime/kv/select_reuse.h exactly (test/e2e/selection_reuse.py's checker), the CUDA-graph run (no trace) gives the
    same logits bit for bit, and the logits against the CPU's own N = 4 run (each target on its own selection)."""
    sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
    from selection_reuse import reuse_violations
    flags = ("--top-k-pages", "4", "--select-every", "4")
    tr, out = gpu4 + ".every4.trace.npy", gpu4 + ".every4.eager.npy"
    sh([gpu4, "score", "--input-ids", ids, "--out", out, "--mode", "decode", *flags, "--select-trace", tr], timeout=1800)
    g_eager = np.load(out)
    g_graph = score(gpu4, ids, "decode", *flags)
    bad, reused = reuse_violations(np.load(tr), None, 4, 4, 4, 0, 0)
    same = bool(np.array_equal(g_eager, g_graph))
    err, agree = compare(g_graph, score(cpu4, ids, "decode", *flags))
    row(f"{n} cuda --select-every 4: reuse rule, graph == eager", "ok" if not bad and reused > 0 and same else "FAIL",
        f"{reused} reusing steps, {len(bad)} off the rule {bad[:1]}; graph == eager: {same} | vs cpu's own N=4: rel {err:.2e} argmax {agree:.3f}")


def verdict(err, agree, tol, min_agree):
    return "ok" if err <= tol and agree >= min_agree and np.isfinite(err) else "FAIL"


def env_probe():
    for cmd in (["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], ["nvcc", "--version"],
                ["sh", "-c", "ldd --version | head -1; ls /usr/lib/x86_64-linux-gnu | grep -E 'libicu|brotli|libssl' | head; nproc; free -g | head -2"]):
        try:
            p = sh(cmd, check=False)
            log(p.stdout.strip()[-600:])
        except OSError as e:
            log(f"{cmd[0]}: {e}")


def fixtures():
    names = sorted(d for d in os.listdir(FIX) if os.path.exists(os.path.join(FIX, d, "model.onnx")))
    if os.environ.get("TSC_FIXTURES"):  # a subset, for short calls
        names = [n for n in names if n in os.environ["TSC_FIXTURES"].split(",")]
    rng = np.random.default_rng(5)
    jobs = []
    for n in names:
        d = os.path.join(WORK, "fx", n)
        os.makedirs(d, exist_ok=True)
        m = os.path.join(FIX, n, "model.onnx")
        p4 = ("--page-size", "4", "--top-k-pages", "8", "--dense-layers", "0")
        sk = ("--page-score", "sketch")
        for name, target, extra in (("cpu", "cpu", ()), ("cpu16", "cpu", ("--dtype", "f16")), ("cuda", "cuda", ()),
                                    ("cpu16_p4", "cpu", ("--dtype", "f16") + p4), ("cuda_p4", "cuda", p4),
                                    ("cpu16_p4_sketch", "cpu", ("--dtype", "f16") + p4 + sk), ("cuda_p4_sketch", "cuda", p4 + sk)):
            # Page 4, budget up to 8, no dense layers: selection acts on 64-token inputs. cpu16 = the CPU target
            # with the same fp16 weights as the GPU build, so that only kernel arithmetic differs. *_sketch: pages
            # scored by the key sketch (coded by the append kernel, scored by the selecting kernel).
            jobs.append((m, os.path.join(d, name), target, extra))
    build_all(jobs)
    for n in names:
        d = os.path.join(WORK, "fx", n)
        ids = os.path.join(FIX, n, "input_ids.npy")
        cfg = json.load(open(os.path.join(FIX, n, "config.json")))
        vocab = cfg.get("vocab_size")
        long_ids = os.path.join(d, "long_ids.npy")
        np.save(long_ids, rng.integers(0, vocab, size=(2, 64), dtype=np.int64))
        ref = np.load(os.path.join(FIX, n, "logits.npy"))
        try:
            cpu, cpu16, gpu = os.path.join(d, "cpu"), os.path.join(d, "cpu16"), os.path.join(d, "cuda")
            for mode, extra in (("prefill", ()), ("decode", ("--dense",))):
                c = score(cpu, ids, mode, *extra)
                c16 = score(cpu16, ids, mode, *extra)
                g = score(gpu, ids, mode, *extra)
                err, agree = compare(g, c16)
                ferr, fagree = compare(g, c)
                oerr, oagree = compare(g, ref)
                row(f"{n} {mode}{' dense' if extra else ''}: cuda vs cpu", verdict(err, agree, 1e-2, 0.99),
                    f"rel {err:.2e} argmax {agree:.3f} | vs cpu fp32 weights rel {ferr:.2e} argmax {fagree:.3f} | vs onnxruntime rel {oerr:.2e} argmax {oagree:.3f}")
                if mode == "prefill":
                    err, agree = compare(score(gpu, ids, mode, env=ROWS128), c16)
                    row(f"{n} prefill, 128-query blocks: cuda vs cpu", verdict(err, agree, 1e-2, 0.99), f"rel {err:.2e} argmax {agree:.3f}")
            # Prefill of 2 x 250 tokens: several query and key tiles per sequence (64- and 128-query blocks), in one
            # step and in chunks of 96 (later chunks attend to cached keys), against the CPU target in one step.
            pre_ids = os.path.join(d, "prefill_ids.npy")
            np.save(pre_ids, rng.integers(0, vocab, size=(2, 250), dtype=np.int64))
            c = score(cpu16, pre_ids, "prefill")
            for tag, env, extra in (("auto", None, ()), ("128-query blocks", ROWS128, ()), ("chunks of 96", None, ("--prefill-chunk", "96")),
                                    ("chunks of 96, 128-query blocks", ROWS128, ("--prefill-chunk", "96"))):
                err, agree = compare(score(gpu, pre_ids, "prefill", *extra, env=env), c)
                row(f"{n} prefill 2x250 tok ({tag}): cuda vs cpu", verdict(err, agree, 1e-2, 0.99), f"rel {err:.2e} argmax {agree:.3f}")
            cpu4, gpu4 = os.path.join(d, "cpu16_p4"), os.path.join(d, "cuda_p4")
            c = score(cpu4, long_ids, "decode", "--dense")
            g = score(gpu4, long_ids, "decode", "--dense")
            err, agree = compare(g, c)
            row(f"{n} decode 64 tok page 4 --dense: cuda vs cpu", verdict(err, agree, 1e-2, 0.99), f"rel {err:.2e} argmax {agree:.3f}")
            sparse_row(f"{n} decode 64 tok page 4 --top-k-pages 4: cuda vs cpu", sparse_vs_cpu(gpu4, cpu4, long_ids, "--top-k-pages", "4"))
            g_dense = score(gpu4, long_ids, "decode", "--dense")
            g_full = score(gpu4, long_ids, "decode", "--top-k-pages", "8")
            # 64 tokens = 16 pages > 8: selection acts; on the first 32 tokens (8 pages) it must equal dense.
            same = bool(np.array_equal(g_dense[:, :32], g_full[:, :32]))
            row(f"{n} cuda budget covering all pages == dense", "ok" if same else "FAIL", f"first 32 positions equal: {same}")
            reuse_row(n, gpu4, cpu4, long_ids)
            # The key sketch: the CUDA selection replayed on the CPU (its own top-k differs only in near ties of the
            # sketch's scores), and a budget covering every page still equals dense.
            cpu4s, gpu4s = os.path.join(d, "cpu16_p4_sketch"), os.path.join(d, "cuda_p4_sketch")
            sparse_row(f"{n} sketch decode 64 tok page 4 --top-k-pages 4: cuda vs cpu", sparse_vs_cpu(gpu4s, cpu4s, long_ids, "--top-k-pages", "4"))
            same = bool(np.array_equal(score(gpu4s, long_ids, "decode", "--dense")[:, :32], score(gpu4s, long_ids, "decode", "--top-k-pages", "8")[:, :32]))
            row(f"{n} cuda sketch budget covering all pages == dense", "ok" if same else "FAIL", f"first 32 positions equal: {same}")
        except Exception as e:  # noqa: BLE001
            row(f"{n}", "FAIL", str(e)[:400])


def full_models():
    d = os.path.join(WORK, "full")
    t0 = time.time()
    sh([sys.executable, os.path.join(ROOT, "tools", "gpu", "export_full.py"), d], timeout=3000)
    log(f"export: {time.time() - t0:.0f} s")
    rng = np.random.default_rng(9)
    for n in os.environ.get("TSC_FULL_MODELS", "gpt2_medium,tinyllama").split(","):
        m = os.path.join(d, n, "model.onnx")
        try:
            p = sh([sys.executable, "-c", "import resource, subprocess, sys, time; t = time.time(); "
                    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
                    "print(time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", TSC, m, "--emit=spec"])
            secs, rss_kb = p.stdout.split()
            row(f"{n} import + lift (--emit=spec)", "ok" if float(secs) < 10 and int(rss_kb) < 2**20 else "SLOW",
                f"{float(secs):.2f} s, max RSS {int(rss_kb) / 1024:.0f} MiB (model.onnx.data {os.path.getsize(m + '.data') / 2**30:.2f} GiB, mapped)")
            tg = build(m, os.path.join(d, n, "cuda"), "cuda", "-v")
            row(f"{n} tsc compile (cuda)", "ok" if tg <= 60 or n != "tinyllama" else "SLOW", f"{tg:.1f} s")
            tc = build(m, os.path.join(d, n, "cpu"), "cpu")
            build(m, os.path.join(d, n, "cpu16"), "cpu", "--dtype", "f16")
            log(f"{n}: cpu build {tc:.1f} s")
            ids = os.path.join(d, n, "input_ids.npy")
            ref = np.load(os.path.join(d, n, "logits_ort.npy"))
            c = score(os.path.join(d, n, "cpu"), ids, "prefill")
            c16 = score(os.path.join(d, n, "cpu16"), ids, "prefill")
            g = score(os.path.join(d, n, "cuda"), ids, "prefill")
            err, agree = compare(c, ref)
            row(f"{n} prefill cpu vs onnxruntime", verdict(err, agree, 1e-3, 1.0), f"rel {err:.2e} argmax {agree:.3f}")
            err, agree = compare(g, c16)
            ferr, fagree = compare(g, c)
            # How near a tie each disagreement is (argmax_gap), and the CPU's own fp16-vs-fp32-weights agreement: the
            # GPU's fp16 weights and activations move logits by about as much as the CPU's fp16 weights do.
            err16, agree16 = compare(c16, c)
            # One disagreement in 64 positions is already under the 0.99 bar; it is a near tie (and the row passes)
            # when the two tokens' logits differ by less than the measured error (session 6: a 3.7e-4 gap under a
            # 1.1e-3 error, as the CPU's own fp16 weights move logits by 9.5e-4).
            gap = argmax_gap(g, c16)
            row(f"{n} prefill cuda vs cpu", verdict(err, 1.0 if gap <= err else agree, 1e-2, 0.99),
                f"rel {err:.2e} argmax {agree:.3f} of {g.shape[0] * g.shape[1]} (largest logit gap of a disagreement {gap:.1e}) | "
                f"vs cpu fp32 weights rel {ferr:.2e} argmax {fagree:.3f} | cpu fp16 vs fp32 weights rel {err16:.2e} argmax {agree16:.3f}")
            g = score(os.path.join(d, n, "cuda"), ids, "prefill", env=ROWS128)
            err, agree = compare(g, c16)
            gap = argmax_gap(g, c16)
            row(f"{n} prefill, 128-query blocks, cuda vs cpu", verdict(err, 1.0 if gap <= err else agree, 1e-2, 0.99),
                f"rel {err:.2e} argmax {agree:.3f} (largest logit gap of a disagreement {gap:.1e})")
            vocab = ref.shape[-1]
            long_ids = os.path.join(d, n, "long_ids.npy")
            # 2 x 128 tokens (8 pages of 16 each): 256 positions, so that one disagreement is 0.4%, not 1%.
            np.save(long_ids, rng.integers(0, vocab, size=(2, 128), dtype=np.int64))
            c = score(os.path.join(d, n, "cpu16"), long_ids, "prefill")
            for tag, env in (("auto", None), ("128-query blocks", ROWS128)):
                g = score(os.path.join(d, n, "cuda"), long_ids, "prefill", env=env)
                err, agree = compare(g, c)
                row(f"{n} prefill 2x128 tok ({tag}) cuda vs cpu", verdict(err, agree, 1e-2, 0.99),
                    f"rel {err:.2e} argmax {agree:.3f} of {g.shape[0] * g.shape[1]} (largest logit gap of a disagreement {argmax_gap(g, c):.1e})")
            c = score(os.path.join(d, n, "cpu16"), long_ids, "decode", "--dense")
            g = score(os.path.join(d, n, "cuda"), long_ids, "decode", "--dense")
            err, agree = compare(g, c)
            row(f"{n} decode 2x128 tok --dense cuda vs cpu", verdict(err, agree, 1e-2, 0.99), f"rel {err:.2e} argmax {agree:.3f}")
            sparse_row(f"{n} decode 2x128 tok --top-k-pages 3 cuda vs cpu",
                       sparse_vs_cpu(os.path.join(d, n, "cuda"), os.path.join(d, n, "cpu16"), long_ids, "--top-k-pages", "3"))
        except Exception as e:  # noqa: BLE001
            row(f"{n}", "FAIL", str(e)[:400])


def sanitizer():
    n = "llama_gqa3_tied_dynamo"
    d = os.path.join(WORK, "fx", n)
    ids = os.path.join(d, "long_ids.npy")
    for tool in ("memcheck", "racecheck"):
        for exe, mode, extra, env in ((os.path.join(d, "cuda_p4"), "prefill", (), None), (os.path.join(d, "cuda_p4"), "prefill", (), ROWS128),
                                      (os.path.join(d, "cuda_p4"), "decode", ("--top-k-pages", "4"), None),
                                      (os.path.join(d, "cuda_p4_sketch"), "decode", ("--top-k-pages", "4"), None)):
            what = f"compute-sanitizer {tool} {mode}{' 128-query blocks' if env else ''}{' sketch' if exe.endswith('sketch') else ''}"
            try:
                p = sh(["compute-sanitizer", f"--tool={tool}", "--error-exitcode=9", exe, "score", "--input-ids", ids, "--out", "/tmp/san.npy",
                        "--mode", mode, *extra], timeout=900, check=False, env=env)
                tail = (p.stdout + p.stderr).strip().splitlines()[-1:] if (p.stdout + p.stderr).strip() else [""]
                row(what, "ok" if p.returncode == 0 else "FAIL", tail[0][:200])
            except Exception as e:  # noqa: BLE001
                row(what, "FAIL", str(e)[:300])


def build_attn_bench(exe, tree=ROOT, *flags):
    """nvcc-builds tools/gpu/attn_bench.cu against `tree`'s kernel templates: the tree's own copy of the source
    where it has one (it calls that tree's CPU kernels), else this checkout's."""
    src = os.path.join(tree, "tools", "gpu", "attn_bench.cu")
    sh(["nvcc", "-std=c++17", "-O3", *flags, "-gencode=arch=compute_90,code=sm_90", "-Xcompiler", "-fopenmp", "-I", tree,
        src if os.path.exists(src) else os.path.join(ROOT, "tools", "gpu", "attn_bench.cu"), "-o", exe])


def forms():
    """The downloaded forms (test/Inputs/fixtures/*/onnx/*.onnx: optimum exports, fp16, 4-bit MatMulNBits, int8 and
    uint8 MatMulInteger): a CUDA build of each against a CPU build with the same fp16 dense weights, prefill (T > 8
    rows: quantized weights dequantized for cuBLASLt) and dense decode (batch 2: the 4- and 8-bit GEMVs), plus
    onnxruntime's logits on the file. The 8-bit forms differ by more than kernel arithmetic: the CPU target quantizes
    activations as the file's DynamicQuantizeLinear does, the CUDA kernels are weight-only (fp16 activations), which
    moves these small random models' logits by 0.8-2.3e-2 of max |logit| (onnxruntime on both, tools/gpu/
    weight_only_ref.py) — over the GPU bar. So their CUDA logits meet the bar against onnxruntime on the weight-only
    rewrite of the same file, and the distance to the CPU target is reported beside onnxruntime's own gap."""
    jobs = []
    for n in sorted(os.listdir(FIX)):
        for f in sorted(glob.glob(os.path.join(FIX, n, "onnx", "*.onnx"))):
            form = os.path.basename(f)[:-5]
            d = os.path.join(WORK, "forms", f"{n}.{form}")
            os.makedirs(d, exist_ok=True)
            jobs += [(f, os.path.join(d, "cpu16"), "cpu", ("--dtype", "f16")), (f, os.path.join(d, "cuda"), "cuda", ())]
    build_all(jobs)
    for f, cpu16, _, _ in jobs[::2]:
        n, form = f.split(os.sep)[-3], os.path.basename(f)[:-5]
        d = os.path.dirname(cpu16)
        ids = os.path.join(FIX, n, "reference", "input_ids.npy")
        ref = np.load(os.path.join(FIX, n, "reference", f"{form}.logits.npy"))
        try:
            wo = None
            if "int8" in form:
                sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
                import onnx
                import weight_only_ref
                wo = weight_only_ref.logits(weight_only_ref.weight_only(onnx.load(f)), np.load(ids))
                gap, gagree = compare(wo, ref)
            # 4-bit forms again with TSC_Q4_GEMM=1: prefill rows (9..64 of them) on gemm_q4, the tensor-core kernel.
            runs = [("prefill", (), None, ""), ("decode", ("--dense",), None, "")]
            if "q4" in form:
                runs.append(("prefill", (), {**os.environ, "TSC_Q4_GEMM": "1"}, " (gemm_q4)"))
            for mode, extra, env, tag in runs:
                c = score(cpu16, ids, mode, *extra)
                g = score(os.path.join(d, "cuda"), ids, mode, *extra, env=env)
                err, agree = compare(g, c)
                oerr, oagree = compare(g, ref)
                if wo is None:
                    row(f"{n}.{form} {mode}{tag}: cuda vs cpu", verdict(err, agree, 1e-2, 0.99),
                        f"rel {err:.2e} argmax {agree:.3f} | vs onnxruntime rel {oerr:.2e} argmax {oagree:.3f}")
                    continue
                werr, wagree = compare(g, wo)
                row(f"{n}.{form} {mode}: cuda vs onnxruntime weight-only", verdict(werr, wagree, 1e-2, 0.99),
                    f"rel {werr:.2e} argmax {wagree:.3f} | vs cpu (activations quantized) rel {err:.2e} argmax {agree:.3f}, "
                    f"vs onnxruntime on the file rel {oerr:.2e} argmax {oagree:.3f}; onnxruntime's own weight-only gap rel {gap:.2e} argmax {gagree:.3f}")
        except Exception as e:  # noqa: BLE001
            row(f"{n}.{form}", "FAIL", str(e)[:300])


def q4_gemv():
    """The 4-bit projections on their own (tools/gpu/q4_gemv_bench.cu): error against a float64 reference of the
    dequantized weights and time beside fp16 on the same shapes: the GEMV (templates/cuda/gemv_q4.cuh) at M = 1, 8
    against the fp16 GEMV; the tensor-core gemm_q4 (templates/cuda/gemm_q4.cuh, not yet called by the backend) at
    M = 16..64 against fp16 cuBLAS and the backend's dequant_q4 + cuBLAS; % of the copy roofline from the same run."""
    exe = os.path.join(WORK, "q4_gemv_bench")
    sh(["nvcc", "-std=c++17", "-O3", f"-arch=sm_{os.environ.get('TSC_CUDA_ARCHS', '90').split(',')[0]}", "-I", ROOT,
        os.path.join(ROOT, "tools", "gpu", "q4_gemv_bench.cu"), "-lcublas", "-o", exe])
    p = sh([exe], check=False, timeout=900)
    res = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    for j in res:
        gemv = j["path"] == "gemv_q4"
        row(f"q4 {j['path']} N {j['N']} K {j['K']} M {j['M']} block {j['block']}{' zp' if j['zero_points'] else ''}",
            "ok" if j["rel_err"] < 1e-3 else "FAIL",
            f"{j['q4_us']:.1f} us ({j['q4_tbps']:.2f} TB/s, {j['roofline_pct']:.0f}% of copy {j['copy_tbps']:.2f}), fp16 {'gemv' if gemv else 'cublas'} "
            f"{j['f16_us']:.1f} us ({j['f16_tbps']:.2f} TB/s): {j['speedup']:.2f}x, rel err {j['rel_err']:.1e}"
            + ("" if gemv else f"; dequant_q4 + cublas {j['dequant_cublas_us']:.1f} us"))
    if p.returncode != 0 and not res:
        row("q4_gemv_bench", "FAIL", (p.stdout + p.stderr)[-300:])
    json.dump(res, open(os.path.join(OUT, "q4_gemv.json"), "w"), indent=1)


def quant_gemv():
    """The 8-bit weight-only projections (templates/cuda/gemv_i8.cuh) on their own (tools/gpu/i8_gemv_bench.cu): the
    GEMV at M = 1 and 8, dequantization + cuBLAS at M = 64, each against a float64 reference of the dequantized
    weights and timed beside fp16 (GEMV, cuBLAS) on TinyLlama's shapes, with the % of the copy roofline measured in
    the same run (the 4-bit GEMV is stage q4: --only quant,q4 runs both)."""
    exe = os.path.join(WORK, "i8_gemv_bench")
    sh(["nvcc", "-std=c++17", "-O3", f"-arch=sm_{os.environ.get('TSC_CUDA_ARCHS', '90').split(',')[0]}", "-I", ROOT,
        os.path.join(ROOT, "tools", "gpu", "i8_gemv_bench.cu"), "-lcublas", "-o", exe])
    p = sh([exe], check=False, timeout=900)
    res = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    for j in res:
        row(f"i8 {j['path']} N {j['N']} K {j['K']} M {j['M']} {j['codes']}", "ok" if j["rel_err"] < 1e-3 else "FAIL",
            f"{j['i8_us']:.1f} us ({j['i8_tbps']:.2f} TB/s, {j['roofline_pct']:.0f}% of copy {j['copy_tbps']:.2f}), fp16 {j['f16_us']:.1f} us "
            f"({j['f16_tbps']:.2f} TB/s): {j['speedup']:.2f}x, rel err {j['rel_err']:.1e}" + (f", k_split {j['k_split']}" if j["k_split"] else ""))
    if p.returncode != 0 and not res:
        row("i8_gemv_bench", "FAIL", (p.stdout + p.stderr)[-300:])
    json.dump(res, open(os.path.join(OUT, "i8_gemv.json"), "w"), indent=1)


def kernel():
    exe = os.path.join(WORK, "attn_bench")
    build_attn_bench(exe)
    base = os.environ.get("TSC_BASE_SOURCE_DIR")
    if base:  # the same benchmark over the baseline tree's kernel templates, for a same-run A/B
        build_attn_bench(exe + "_base", base)
    res = []
    for ctx in (2048, 4096, 8192, 16384, 32768):
        if base:
            pb = sh([exe + "_base", "--batch", "16", "--context", str(ctx), "--budget-tokens", "2048"], check=False)
            jb = next((json.loads(l) for l in pb.stdout.splitlines() if l.startswith("{")), None)
            if jb:
                jb["impl"] = "base"
                res.append(jb)
                row(f"attn decode b16 ctx {ctx} base", "info", f"sparse {jb['sparse_us']:.1f} us, dense {jb['dense_us']:.1f} us")
        p = sh([exe, "--batch", "16", "--context", str(ctx), "--budget-tokens", "2048"], check=False)
        j = next((json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")), None)
        if not j:
            row(f"attn_bench ctx {ctx}", "FAIL", (p.stdout + p.stderr)[-300:])
            continue
        q = sh([sys.executable, os.path.join(ROOT, "tools", "gpu", "sdpa_bench.py"), "--batch", "16", "--context", str(ctx)], check=False)
        sd = next((json.loads(l) for l in q.stdout.splitlines() if l.startswith("{")), {})
        j.update(sd)
        res.append(j)
        ok = p.returncode == 0
        row(f"attn decode b16 ctx {ctx} budget 2048", "ok" if ok else "FAIL",
            f"sparse {j['sparse_us']:.1f} us, dense {j['dense_us']:.1f} us ({j['dense_us'] / j['sparse_us']:.2f}x), "
            f"sdpa {sd.get('sdpa_best_us', float('nan')):.1f} us ({sd.get('sdpa_best_us', float('nan')) / j['sparse_us']:.2f}x), "
            f"floor {j['sparse_floor_mb'] / j['sparse_us']:.2f} TB/s, err {j['sparse_err']:.1e}")
    # The key sketch's selecting kernel against the bound's at 32k (issue 16 item 2: the default's speed condition,
    # within 10%), both in this run on the same data.
    build_attn_bench(exe + "_sketch", ROOT, "-DTSC_BENCH_SCORE=1")
    p = sh([exe + "_sketch", "--batch", "16", "--context", "32768", "--budget-tokens", "2048"], check=False)
    js = next((json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")), None)
    jb = next((r for r in res if r.get("context") == 32768 and r.get("impl") != "base"), None)
    if not js or not jb:
        row("attn decode b16 ctx 32768 sketch", "FAIL", (p.stdout + p.stderr)[-300:])
    else:
        js["impl"] = "sketch"
        res.append(js)
        row("attn decode b16 ctx 32768 budget 2048 sketch vs bound", "ok" if p.returncode == 0 else "FAIL",
            f"sketch {js['sparse_us']:.1f} us, bound {jb['sparse_us']:.1f} us ({js['sparse_us'] / jb['sparse_us']:.2f}x the bound's; "
            f"item 2 asks <= 1.10x), dense {js['dense_us']:.1f} us, err {js['sparse_err']:.1e}")
    json.dump(res, open(os.path.join(OUT, "attn.json"), "w"), indent=1)


def attn_profile():
    """ncu's warp-stall samples per source line of the selecting kernel (batch 16, 32k context, 2048-token budget)
    and of the dense kernel over the same kept bytes (2k context): tools/gpu/profile_attn.py."""
    exe = os.path.join(WORK, "attn_bench_lineinfo")
    build_attn_bench(exe, ROOT, "-lineinfo")
    for kern, ctx in (("sparse", "32768"), ("dense", "2048")):
        p = sh([sys.executable, os.path.join(ROOT, "tools", "gpu", "profile_attn.py"), exe, "--kernel", kern, "--context", ctx,
                "--out", os.path.join(OUT, "ncu_attn")], timeout=900, check=False)
        open(os.path.join(OUT, f"ncu_attn_{kern}.txt"), "w").write(p.stdout + p.stderr)
        log(p.stdout[-6000:] + p.stderr[-1000:])
        row(f"ncu {kern} decode attention ctx {ctx}", "ok" if p.returncode == 0 else "FAIL", f"OUT/ncu_attn_{kern}.txt")


def bench_json(cmd, timeout=900):
    p = sh(cmd, check=False, timeout=timeout)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0:
        row(" ".join(os.path.basename(c) for c in cmd[:3]), "FAIL", p.stderr.strip()[-300:])
    return out


def ensure_full(names=("tinyllama", "gpt2_medium")):
    """Exports (once per machine) and builds the full-size models for timing, without the correctness runs."""
    d = os.path.join(WORK, "full")
    for n in names:
        if not os.path.exists(os.path.join(d, n, "model.onnx")):
            sh([sys.executable, os.path.join(ROOT, "tools", "gpu", "export_full.py"), d, "--only", n], timeout=3000)
        if not os.path.exists(os.path.join(d, n, "cuda")):
            build(os.path.join(d, n, "model.onnx"), os.path.join(d, n, "cuda"), "cuda")


def bench():
    ensure_full()
    d = os.path.join(WORK, "full")
    res = []
    hf = os.path.join(ROOT, "tools", "gpu", "hf_baseline.py")
    for n, batches in (("tinyllama", ["1", "32", "64"]), ("gpt2_medium", ["1", "32"])):
        exe = os.path.join(d, n, "cuda")
        if not os.path.exists(exe):
            continue
        for j in bench_json([exe, "bench", "--batch", *batches, "--prompt-len", "128", "--gen", "256", "--json", "--dense"]):
            j["model"], j["impl"] = n, "tsc"
            res.append(j)
        for j in bench_json([sys.executable, hf, "--model", n, "--batch", *batches, "--prompt", "128", "--gen", "256"], timeout=1200):
            res.append(j)
    # Where a decode step's time goes: eager steps with CUDA events between launches (no graphs).
    exe = os.path.join(d, "tinyllama", "cuda")
    for b in ("1", "64"):
        p = sh([exe, "bench", "--batch", b, "--prompt-len", "128", "--gen", "24", "--dense"], check=False, env={**os.environ, "TSC_PROFILE": "1"})
        prof = [l.strip() for l in p.stderr.splitlines() if "calls" in l]
        log(f"profile tinyllama batch {b}:\n" + "\n".join(prof))
        for l in sorted(prof, key=lambda x: -float(x.split("%")[0].split()[-1]) if "%" in x else 0)[:6]:
            row(f"profile b{b} {l.split()[0]}", "info", " ".join(l.split()[1:]))
    for j in res:
        row(f"bench {j['model']} {j.get('impl')} batch {j['batch']}{' mixed' if j.get('workload') else ''}", "info",
            f"ttft {j['ttft_ms']:.1f} ms, {j.get('step_ms_median', j.get('step_ms', 0)):.3f} ms/step, {j['tokens_per_s']:.0f} tok/s, "
            f"mem {j.get('device_memory_bytes', j.get('peak_memory_bytes', 0)) / 2**30:.2f} GiB")
    json.dump(res, open(os.path.join(OUT, "bench.json"), "w"), indent=1)


def copy_bandwidth():
    """Device-to-device copy rate (bytes read + written per second) of a 1 GiB buffer, the roofline's denominator."""
    code = ("import torch\nx=torch.empty(1<<30,dtype=torch.uint8,device='cuda');y=torch.empty_like(x)\n"
            "for _ in range(3): y.copy_(x)\n"
            "s=torch.cuda.Event(enable_timing=True);e=torch.cuda.Event(enable_timing=True);torch.cuda.synchronize();s.record()\n"
            "for _ in range(20): y.copy_(x)\n"
            "e.record();torch.cuda.synchronize();print(2*20*(1<<30)/(s.elapsed_time(e)/1e3))")
    return float(sh([sys.executable, "-c", code]).stdout.strip().splitlines()[-1])


# Weight bytes a TinyLlama-shaped fp16 decode step reads per token: every layer's projections and the LM head.
TINYLLAMA_DECODE_WEIGHT_BYTES = 2 * (22 * (2048 * (2048 + 2 * 256) + 2048 * 2048 + 2 * 5632 * 2048 + 5632 * 2048) + 32000 * 2048)


def same_logits(exes, d):
    """The A/B pair's logits on one random batch (2 x 96 tokens): prefill and dense decode, this tree's build against
    the baseline's. Rows say whether they are bit-identical and, if not, the largest difference over max|logit|."""
    ids = os.path.join(d, "ab_ids.npy")
    np.save(ids, np.random.default_rng(13).integers(0, 32000, size=(2, 96), dtype=np.int64))
    for mode in (["prefill"], ["decode", "--dense"]):
        outs = []
        for tag, exe in exes:
            o = os.path.join(d, f"ab_{tag}_{mode[0]}.npy")
            sh([exe, "score", "--input-ids", ids, "--out", o, "--mode", *mode])
            outs.append(np.load(o))
        a, b = outs
        err = float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-30))
        row(f"decode A/B logits {' '.join(mode)}: tsc vs base", "ok" if err <= 1e-3 else "FAIL",
            f"{'bit-identical' if np.array_equal(a, b) else f'max diff {err:.2e} x max|logit|'}, "
            f"argmax {float((a.argmax(-1) == b.argmax(-1)).mean()):.3f}")


def decode():
    """Dense decode at batch 1 and 64 (TinyLlama shape, prompt 128, 256 new tokens): this tree's kernels, a baseline
    tree's (TSC_BASE_SOURCE_DIR, e.g. the previous commit's templates, if set), HF transformers and the copy rate,
    all in this run; then an ncu profile of each binary's batch-1 step."""
    ensure_full(("tinyllama",))
    d = os.path.join(WORK, "full", "tinyllama")
    m = os.path.join(d, "model.onnx")
    bw = copy_bandwidth()
    roof_ms = TINYLLAMA_DECODE_WEIGHT_BYTES / bw * 1e3
    row("device copy rate (read + write)", "info", f"{bw / 1e12:.2f} TB/s; batch-1 roofline {roof_ms:.3f} ms/token "
        f"({TINYLLAMA_DECODE_WEIGHT_BYTES / 1e9:.3f} GB of weights)")
    exes = [("tsc", os.path.join(d, "cuda"))]
    base = os.environ.get("TSC_BASE_SOURCE_DIR")
    if base:
        # The baseline's kernels; with TSC_BASE_TSC and TSC_BASE_LIB_DIR (an older commit's tsc and runtime libraries,
        # carried as .carry/base-bin and .carry/base-lib) the whole baseline build, runtime included.
        exe = os.path.join(d, "cuda_base")
        env = {**os.environ, "TSC_SOURCE_DIR": base}
        if os.environ.get("TSC_BASE_LIB_DIR"):
            env["TSC_LIB_DIR"] = os.environ["TSC_BASE_LIB_DIR"]
        if not os.path.exists(exe):
            sh([os.environ.get("TSC_BASE_TSC", TSC), m, "-o", exe, "--target", "cuda"], env=env)
        exes.append(("base", exe))
        same_logits(exes, d)
    res = [{"copy_bytes_per_s": bw, "weight_bytes": TINYLLAMA_DECODE_WEIGHT_BYTES}]
    # Two rounds in opposite orders, so that neither binary always runs on a colder or warmer card.
    for rnd, order in enumerate((exes, exes[::-1])):
        for tag, exe in order:
            for j in bench_json([exe, "bench", "--batch", "1", "64", "--prompt-len", "128", "--gen", "256", "--json", "--dense"]):
                j["model"], j["impl"], j["round"] = "tinyllama", tag, rnd
                res.append(j)
                extra = f", {roof_ms / j['step_ms_median'] * 100:.0f}% of roofline" if j["batch"] == 1 else ""
                row(f"decode tinyllama {tag} batch {j['batch']} round {rnd}", "info", f"{j['step_ms_median']:.3f} ms/step, {j['tokens_per_s']:.0f} tok/s{extra}")
    if os.environ.get("TSC_DECODE_AB_ONLY"):  # the A/B alone: no HF baseline, no profile
        json.dump(res, open(os.path.join(OUT, "decode.json"), "w"), indent=1)
        return
    hf = os.path.join(ROOT, "tools", "gpu", "hf_baseline.py")
    for j in bench_json([sys.executable, hf, "--model", "tinyllama", "--batch", "1", "64", "--prompt", "128", "--gen", "256"], timeout=1200):
        res.append(j)
        row(f"decode tinyllama hf batch {j['batch']}", "info", f"{j['step_ms']:.3f} ms/step, {j['tokens_per_s']:.0f} tok/s")
    json.dump(res, open(os.path.join(OUT, "decode.json"), "w"), indent=1)
    prof = os.path.join(ROOT, "tools", "gpu", "profile_decode.py")
    for tag, exe in exes[:1 if os.environ.get("TSC_PROFILE_BASE") is None else 2]:
        p = sh([sys.executable, prof, exe, "--batch", "1", "--json", os.path.join(OUT, f"ncu_{tag}_b1.json"),
                "--csv", os.path.join(OUT, f"ncu_{tag}_b1.csv")], check=False, timeout=1200)
        log(f"ncu {tag} batch 1:\n{p.stdout}{p.stderr[-1500:]}")
        last = [l for l in p.stdout.splitlines() if l.startswith("sum of kernel")]
        row(f"ncu {tag} b1", "info" if last else "FAIL", last[0] if last else p.stderr.strip()[-200:])
    for k in filter(None, os.environ.get("TSC_PROFILE_DETAIL", "").split(",")):
        p = sh([sys.executable, prof, exes[0][1], "--batch", "1", "--detail", k], check=False, timeout=900)
        open(os.path.join(OUT, f"ncu_detail_{k}.txt"), "w").write(p.stdout + p.stderr)


def prefill():
    """Time to first token and decode steps against HF compiled and eager, rates, long prompts, profile:
    tools/gpu/prefill_bench.py (parts from $TSC_PREFILL_PARTS, default all; shapes from $TSC_PREFILL_MODELS)."""
    ensure_full(tuple(os.environ.get("TSC_PREFILL_MODELS", "tinyllama,gpt2_medium").split(",")))
    cmd = [sys.executable, os.path.join(ROOT, "tools", "gpu", "prefill_bench.py"), "--work", os.path.join(WORK, "full")]
    if os.environ.get("TSC_PREFILL_PARTS"):
        cmd += ["--parts", os.environ["TSC_PREFILL_PARTS"]]
    if os.environ.get("TSC_PREFILL_MODELS"):
        cmd += ["--models", os.environ["TSC_PREFILL_MODELS"]]
    p = sh(cmd, check=False, timeout=3000, env={**os.environ, "TSC": TSC})
    log(p.stdout[-8000:] + p.stderr[-2000:])
    row("prefill_bench", "ok" if p.returncode == 0 else "FAIL", "OUT/prefill.json")


def long_context():
    """TinyLlama shape at 2k-32k context, batch 16: a sparse decode step (budget 2048 tokens) against a dense one on the
    same prefilled batch (the first 2 layers dense, as built by default; at 32k also none)."""
    ensure_full(("tinyllama",))
    d = os.path.join(WORK, "full", "tinyllama")
    m = os.path.join(d, "model.onnx")
    res = []
    for dl in ("2", "0"):
        exe = os.path.join(d, f"cuda_long_dl{dl}")
        build(m, exe, "cuda", "--max-seq-len", "33024", "--top-k-pages", "128", "--max-batch", "16", "--dense-layers", dl)
        for ctx in ((2048, 4096, 8192, 16384, 32768) if dl == "2" else (32768,)):
            out = bench_json([exe, "bench", "--batch", "16", "--prompt-len", str(ctx - 48), "--gen", "40", "--warmup", "8", "--json",
                              "--modes", "sparse", "dense"], timeout=900)
            for j in out:
                j["context"] = ctx
                res.append(j)
            pair = {j["mode"]: j["step_ms_median"] for j in out}
            if len(pair) == 2:
                row(f"tinyllama b16 ctx {ctx} dense_layers {dl}: sparse vs dense step", "info",
                    f"dense {pair['dense']:.3f} ms, sparse {pair['sparse']:.3f} ms, {pair['dense'] / pair['sparse']:.2f}x")
    json.dump(res, open(os.path.join(OUT, "long.json"), "w"), indent=1)


def select_every():
    """Selection reuse (issue 16 item 3): the TinyLlama-shape batch-16 decode step at 32k context, budget 2048 tokens,
    scoring pages every N = 1, 2, 4, 8 steps (--select-every; the kept set reused in between), one run per N on the
    same prefilled batch (bench --select-every 1 2 4 8), with the dense step of that batch as the baseline. The
    executable is built with --select-every 4 (the build option; the runs override it). Writes OUT/select_every.json."""
    ensure_full(("tinyllama",))
    d = os.path.join(WORK, "full", "tinyllama")
    exe = os.path.join(d, "cuda_long_every4")
    build(os.path.join(d, "model.onnx"), exe, "cuda", "--max-seq-len", "33024", "--top-k-pages", "128", "--max-batch", "16", "--select-every", "4")
    out = bench_json([exe, "bench", "--batch", "16", "--prompt-len", str(32768 - 256), "--gen", "40", "--warmup", "8", "--json",
                      "--modes", "dense", "sparse", "--select-every", "1", "2", "4", "8"], timeout=1200)
    dense = next((j["step_ms_median"] for j in out if j["mode"] == "dense"), None)
    for j in out:
        if j["mode"] == "sparse":
            row(f"tinyllama b16 ctx 32k select_every {j['select_every']}: sparse step", "info",
                f"{j['step_ms_median']:.3f} ms" + (f", dense {dense:.3f} ms, {dense / j['step_ms_median']:.2f}x" if dense else ""))
    json.dump(out, open(os.path.join(OUT, "select_every.json"), "w"), indent=1)


def mixed():
    """Mixed workload memory: 64 requests, prompts 64..2048, 256 new tokens; HF at the same batch size."""
    d = os.path.join(WORK, "full", "tinyllama")
    m = os.path.join(d, "model.onnx")
    res = []
    exe = os.path.join(d, "cuda_mixed")
    build(m, exe, "cuda", "--max-seq-len", "2304")
    hf = os.path.join(ROOT, "tools", "gpu", "hf_baseline.py")
    for j in bench_json([exe, "bench", "--batch", "64", "--mixed", "--mixed-min", "64", "--mixed-max", "2048", "--gen", "256", "--json", "--dense"]):
        j["workload"] = "mixed"
        res.append(j)
        row("mixed 64 requests tsc", "info", f"device memory {j['device_memory_bytes'] / 2**30:.2f} GiB, {j['kv_pages_used']} KV pages, {j['tokens_per_s']:.0f} tok/s")
    for j in bench_json([sys.executable, hf, "--model", "tinyllama", "--batch", "64", "--mixed", "--gen", "256"], timeout=1200):
        j["workload"] = "mixed"
        res.append(j)
        row("mixed 64 requests hf", "info", f"peak memory {j['peak_memory_bytes'] / 2**30:.2f} GiB, {j['tokens_per_s']:.0f} tok/s")
    json.dump(res, open(os.path.join(OUT, "mixed.json"), "w"), indent=1)


def serve_exe():
    """The TinyLlama-shaped CUDA binary with the server, built once (tokenizer from $TSC_SERVE_TOKENIZER)."""
    ensure_full(("tinyllama",))
    d = os.path.join(WORK, "full", "tinyllama")
    exe = os.path.join(d, "cuda_serve")
    tok = os.environ.get("TSC_SERVE_TOKENIZER", "")
    if not os.path.exists(exe):
        build(os.path.join(d, "model.onnx"), exe, "cuda", "--max-seq-len", "2048", *(["--tokenizer", tok] if tok else []))
    return exe


def serve_load(exe, tag, extra=(), probe=None):
    """Starts `exe serve` with `extra`, runs tools/loadgen.py's mixed workload (500 streaming requests, prompts 16..512,
    128 new tokens, all at once), then probe(url) if given, and stops it with SIGTERM. Returns (loadgen summary,
    /metrics text, exit status); the server log goes to OUT/<tag>.log."""
    import signal
    import urllib.request
    port = int(os.environ.get("TSC_SERVE_PORT", "8123"))
    url = f"http://127.0.0.1:{port}"
    srv_log = open(os.path.join(OUT, tag + ".log"), "w")
    srv = subprocess.Popen([exe, "serve", "--port", str(port), "--served-model-name", "tinyllama", "--log-format", "json", *extra],
                           stdout=srv_log, stderr=subprocess.STDOUT)
    j, metrics = {}, ""
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(url + "/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"{tag}: server did not answer /health within 120 s")
        env = dict(os.environ)
        if os.environ.get("TSC_PYLIB"):  # the openai package and its dependencies, installed beside torch's site-packages
            env["PYTHONPATH"] = os.environ["TSC_PYLIB"]
        res = os.path.join(OUT, tag + ".json")
        cmd = [sys.executable, os.path.join(ROOT, "tools", "loadgen.py"), "--url", url, "--requests", "500", "--concurrency", "500",
               "--prompt-len", "uniform:16:512", "--max-tokens", "fixed:128", "--json", res]
        p = sh(cmd, check=False, timeout=900, env=env)
        log(p.stdout)
        j = json.load(open(res)) if os.path.exists(res) else {}
        if probe:
            probe(url)
        metrics = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
        open(os.path.join(OUT, tag + "_metrics.txt"), "w").write(metrics)
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            rc = srv.wait(timeout=60)
        except subprocess.TimeoutExpired:
            srv.kill()
            rc = "killed"
    return j, metrics, rc


def metric_sum(text, name, **labels):
    """A /metrics series summed over its other labels (the device label under --devices)."""
    tot = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                tot += float(line.rsplit(" ", 1)[1])
    return tot


def load_text(j):
    return (f"{j.get('completed')}/500 done, {j.get('requests_per_s', 0):.2f} req/s, {j.get('output_tokens_per_s', 0):.0f} out tok/s, TTFT p50/p99 "
            f"{j.get('ttft_ms', {}).get('p50', 0):.0f}/{j.get('ttft_ms', {}).get('p99', 0):.0f} ms, ITL p50/p99 "
            f"{j.get('itl_ms', {}).get('p50', 0):.1f}/{j.get('itl_ms', {}).get('p99', 0):.1f} ms")


def serve():
    """The TinyLlama-shaped binary behind its HTTP server: tools/loadgen.py (the official openai client) sends 500
    concurrent streaming completions; all must complete, the server must leave no KV page in use and exit 0 on SIGTERM.
    The tokenizer is a 32k-token Llama-family tokenizer.json given by $TSC_SERVE_TOKENIZER (TinyLlama's vocabulary size)."""
    j, metrics, rc = serve_load(serve_exe(), "serve")
    in_use = metric_sum(metrics, "tsc_kv_pages_used") if metrics else -1
    ok = j.get("completed") == 500 and j.get("failed") == 0 and in_use == 0
    row("serve 500 concurrent streaming requests (tinyllama shape)", "ok" if ok else "FAIL", load_text(j) + f", KV pages in use after: {in_use:.0f}")
    row("serve SIGTERM exit status", "ok" if rc == 0 else "FAIL", str(rc))


def affinity_probe(url):
    """32 requests over 4 shared 256-token prefixes (token ids), 8 at a time: they should land where their prefix is cached."""
    import concurrent.futures
    import urllib.request
    rng = __import__("random").Random(0)
    heads = [[rng.randrange(32000) for _ in range(256)] for _ in range(4)]

    def one(i):
        body = json.dumps({"model": "tinyllama", "prompt": heads[i % 4] + [rng.randrange(32000) for _ in range(8)], "max_tokens": 8}).encode()
        req = urllib.request.Request(url + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
        return urllib.request.urlopen(req, timeout=120).headers.get("X-TSC-Device")

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        devices = list(ex.map(one, range(32)))
    json.dump(devices, open(os.path.join(OUT, "serve_multi_affinity.json"), "w"))


def serve_multi():
    """Issue 19 item 5: the same mixed workload against 1 GPU (--devices 0) and 2 GPUs (--devices 0,1) in one run.
    Judged by >= 1.9x requests/s and output tokens/s, p99 TTFT no worse, and the prefix-cache hit ratio of
    prefix-sharing requests (affinity_probe) on 2 GPUs."""
    gpus = sum(1 for l in subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.splitlines() if l.startswith("GPU "))
    exe = serve_exe()
    one, m1, rc1 = serve_load(exe, "serve_1gpu", ("--devices", "0"))
    row("serve_multi --devices 0", "ok" if one.get("completed") == 500 and rc1 == 0 else "FAIL", load_text(one))
    if gpus < 2:  # the one-GPU half runs anywhere; the comparison needs a second GPU
        row("serve_multi 1 vs 2 GPUs", "blocked", f"{gpus} GPU(s) visible; needs a 2-GPU machine")
        return
    two, m2, rc2 = serve_load(exe, "serve_2gpu", ("--devices", "0,1"), probe=affinity_probe)
    row("serve_multi --devices 0,1", "ok" if two.get("completed") == 500 and rc2 == 0 else "FAIL", load_text(two))
    rps = two.get("requests_per_s", 0) / max(one.get("requests_per_s", 0), 1e-9)
    tps = two.get("output_tokens_per_s", 0) / max(one.get("output_tokens_per_s", 0), 1e-9)
    p99 = (two.get("ttft_ms", {}).get("p99", 0), one.get("ttft_ms", {}).get("p99", 0))
    row("serve_multi scaling 2 GPUs / 1 GPU", "ok" if rps >= 1.9 and tps >= 1.9 and p99[0] <= p99[1] else "FAIL",
        f"req/s {rps:.2f}x, out tok/s {tps:.2f}x, p99 TTFT {p99[0]:.0f} vs {p99[1]:.0f} ms")
    per = {d: metric_sum(m2, "tsc_requests_finished_total", device=str(d)) for d in (0, 1)}
    q, h = metric_sum(m2, "tsc_prefix_cache_queries_total"), metric_sum(m2, "tsc_prefix_cache_hits_total")
    aff = metric_sum(m2, "tsc_router_requests_total", reason="affinity")
    row("serve_multi routing", "info", f"finished per GPU {per}, affinity-routed {aff:.0f}, prefix-cache hit ratio {h / max(q, 1):.3f} ({h:.0f}/{q:.0f} tokens)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip", default="")
    ap.add_argument("--only", default="", help="run only these stages (comma-separated)")
    a = ap.parse_args()
    skip = set(a.skip.split(","))
    only = set(a.only.split(",")) - {""}
    os.makedirs(WORK, exist_ok=True)
    env_probe()
    t0 = time.time()
    for name, fn in (("fixtures", fixtures), ("full", full_models), ("sanitizer", sanitizer), ("kernel", kernel), ("forms", forms), ("q4", q4_gemv), ("quant", quant_gemv), ("attn_profile", attn_profile), ("bench", bench), ("decode", decode), ("prefill", prefill),
                     ("long", long_context), ("select_every", select_every), ("mixed", mixed), ("serve", serve),
                     ("serve_multi", serve_multi)):
        if name in skip or (only and name not in only):
            continue
        t = time.time()
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            row(name, "FAIL", str(e)[:400])
        log(f"== {name} done in {time.time() - t:.0f} s")
    with open(os.path.join(OUT, "summary.txt"), "w") as f:
        for w, r, dt in ROWS:
            f.write(f"{r:5} {w} {dt}\n")
    print("\n==== summary ({:.0f} s) ====".format(time.time() - t0))
    for w, r, dt in ROWS:
        print(f"{r:5} {w[:70]:70} {dt[:110]}")


if __name__ == "__main__":
    main()
