#!/usr/bin/env python3
# CPU benchmark: tsc's CPU target against onnxruntime on the same SmolLM2-135M-Instruct file (fp32 or a downloaded variant), prefill and decode, one run.
"""Usage: python3 tools/bench_cpu.py [--forms model model_q4] [--batches 1 8] [--prompts 128 1024] [--gen 32] [--repeat 1] [--md out.md]

What runs (everything under models/cache/, made on first use):
  1. the model: tools/get_smollm2.py --no-generate (HF dir + dynamo ONNX export)
  2. the files onnxruntime and tsc both run: tools/smollm2_forms.py --forms FORM... (optimum-onnx's
     `text-generation-with-past` export of the same HF dir in the hub layout, past key values in, present out,
     and its transformers.js variants: model_fp16, model_q4 (MatMulNBits), model_int8), made in the venv
     models/cache/optimum-venv because optimum-onnx 0.1.0 needs transformers < 4.58
  3. tsc compiles each file for the CPU target and `model_server bench --dense` times it
  4. onnxruntime (intra-op threads = cores, inter-op 1) runs the same work: each prompt prefilled on its own
     (as tsc's bench does), then greedy decode of the batch with present -> past fed back as OrtValues (no
     numpy copies of the cache between steps)
Prefill ms = all prompts of the batch, one after another; decode = median ms per step after 4 warm-up steps.
Speed ratio = onnxruntime time / tsc time (> 1: tsc is faster). With --repeat N each cell keeps its best of N
runs (the machine is shared; tsc and onnxruntime alternate, so both see the same load).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "models" / "cache"
HF_DIR = CACHE / "smollm2-135m-instruct"
HUB = CACHE / "smollm2-hub"
WARMUP = 4


def log(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def ensure_model() -> None:
    if not (HF_DIR / "model.onnx").exists():
        log("tools/get_smollm2.py --no-generate")
        subprocess.run([sys.executable, str(ROOT / "tools" / "get_smollm2.py"), "--no-generate"], check=True)


def ensure_forms(forms: list) -> None:
    if not all((HUB / "onnx" / f"{f}.onnx").exists() for f in forms):
        log(f"tools/smollm2_forms.py --forms {' '.join(forms)}")
        subprocess.run([sys.executable, str(ROOT / "tools" / "smollm2_forms.py"), "--forms", *forms], check=True)


def build_tsc(tsc: Path, onnx_files: list, max_len: int, work: Path, flags: tuple = (), label: str = "") -> tuple:
    """Compiles the first file tsc accepts (with extra tsc `flags`); returns (executable, file compiled)."""
    work.mkdir(parents=True, exist_ok=True)
    for f in onnx_files:
        exe = work / f"smollm2_{label or f.stem}_cpu"
        if exe.exists() and exe.stat().st_mtime > tsc.stat().st_mtime:
            return exe, f
        log(f"tsc {f} --target cpu {' '.join(flags)}")
        r = subprocess.run([str(tsc), str(f), "-o", str(exe), "--target", "cpu", "--max-seq-len", str(max_len), *flags],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return exe, f
        log(f"tsc could not compile {f}: {r.stderr.strip().splitlines()[-2:] if r.stderr else r.returncode}")
    raise SystemExit("tsc compiled none of " + ", ".join(map(str, onnx_files)))


def tsc_bench(exe: Path, batches: list, prompt: int, gen: int, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    r = subprocess.run([str(exe), "bench", "--batch", *map(str, batches), "--prompt-len", str(prompt), "--gen", str(gen),
                        "--warmup", str(WARMUP), "--dense", "--json"], capture_output=True, text=True, env=env, check=True)
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            out[j["batch"]] = {"prefill_ms": j["ttft_ms"], "decode_ms": j["step_ms_median"]}  # the whole batch prefilled, warm
    return out


class Ort:
    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort
        self.ort = ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.sess.get_inputs()]
        self.past = [n for n in self.inputs if n.startswith("past_key_values")]
        self.outputs = [o.name for o in self.sess.get_outputs()]
        shape = next(i.shape for i in self.sess.get_inputs() if i.name == self.past[0])  # [b, kv_heads, t, head_dim]
        self.kv_heads, self.head_dim = int(shape[1]), int(shape[3])

    def run(self, feeds: dict) -> list:
        ov = {k: (v if isinstance(v, self.ort.OrtValue) else self.ort.OrtValue.ortvalue_from_numpy(v)) for k, v in feeds.items()}
        return self.sess.run_with_ort_values(self.outputs, ov)

    def feeds(self, ids: np.ndarray, past_len: int, past: list) -> dict:
        b, n = ids.shape
        f = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones((b, past_len + n), np.int64)}
        if "position_ids" in self.inputs:
            f["position_ids"] = np.tile(np.arange(past_len, past_len + n, dtype=np.int64), (b, 1))
        f.update(zip(self.past, past))
        return f

    def bench(self, prompts: list, gen: int) -> dict:
        b, p = len(prompts), len(prompts[0])
        empty = np.zeros((1, self.kv_heads, 0, self.head_dim), np.float32)
        t0 = time.perf_counter()
        caches, nxt = [], []
        for ids in prompts:  # one prompt at a time, as tsc's bench prefills
            res = self.run(self.feeds(np.asarray([ids]), 0, [empty] * len(self.past)))
            nxt.append(int(res[0].numpy()[0, -1].argmax()))
            caches.append([r.numpy() for r in res[1:]])
        prefill_ms = (time.perf_counter() - t0) * 1e3
        past = [np.concatenate([c[i] for c in caches]) for i in range(len(self.past))]
        ids, steps = np.asarray(nxt, np.int64).reshape(b, 1), []
        for s in range(gen):
            t = time.perf_counter()
            res = self.run(self.feeds(ids, p + s, past))
            ids = res[0].numpy()[:, -1].argmax(-1).reshape(b, 1)
            past = res[1:]
            steps.append((time.perf_counter() - t) * 1e3)
        return {"prefill_ms": prefill_ms, "decode_ms": float(np.median(steps[WARMUP:]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tsc", type=Path, default=ROOT / "build" / "bin" / "tsc")
    ap.add_argument("--forms", nargs="+", default=["model"],
                    help="files of models/cache/smollm2-hub/onnx/ to run; FORM+OPTION=VALUE... compiles FORM with tsc --OPTION "
                         "VALUE... (e.g. model_q4+head-dtype=int4; onnxruntime runs FORM)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--prompts", type=int, nargs="+", default=[128, 1024])
    ap.add_argument("--gen", type=int, default=32, help="decode steps per run (the first 4 are warm-up)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--repeat", type=int, default=1, help="runs per cell; the best is kept")
    ap.add_argument("--md", type=Path, help="also write the table (markdown) here")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "bench_cpu")
    a = ap.parse_args()
    ensure_model()
    ensure_forms(sorted({f.split("+")[0] for f in a.forms}))
    out = []
    for form in a.forms:
        base, *opts = form.split("+")
        flags = tuple(x for o in opts for x in ("--" + o.split("=")[0], o.split("=", 1)[1]))
        out += bench_form(a, HUB / "onnx" / f"{base}.onnx", flags, form) + [""]
    print("\n".join(out))
    if a.md:
        a.md.write_text("\n".join(out))


def bench_form(a, opt: Path, flags: tuple = (), label: str = "") -> list:
    exe, compiled = build_tsc(a.tsc, [opt], max(a.prompts) + a.gen + 16, a.work, flags, label)
    ort_ = Ort(opt, a.threads)
    ort_.bench([list(range(16))], 4)  # warm-up (allocations, first-run kernel choices), as tsc's bench does
    vocab = 49152
    rng = np.random.default_rng(1234)
    best = {}
    for rep in range(a.repeat):
        for p in a.prompts:
            log(f"{opt.name}: run {rep + 1}/{a.repeat}, prompt {p}: tsc")
            t = tsc_bench(exe, a.batches, p, a.gen, a.threads)
            for b in a.batches:
                log(f"{opt.name}: run {rep + 1}/{a.repeat}, prompt {p}, batch {b}: onnxruntime")
                o = ort_.bench([rng.integers(0, vocab, p).tolist() for _ in range(b)], a.gen)
                cell = best.setdefault((p, b), {"tsc": t[b], "ort": o})
                for k in ("prefill_ms", "decode_ms"):
                    cell["tsc"][k] = min(cell["tsc"][k], t[b][k])
                    cell["ort"][k] = min(cell["ort"][k], o[k])
    lines = [f"tsc compiled `{compiled.relative_to(ROOT)}`{' with `' + ' '.join(flags) + '`' if flags else ''}; onnxruntime {ort_.ort.__version__} ran "
             f"`{opt.relative_to(ROOT)}`; {a.threads} threads each; best of {a.repeat}, {a.gen} decode steps",
             "", "| prompt | batch | tsc prefill ms | ORT prefill ms | prefill speed (ORT/tsc) | tsc decode ms/step | "
             "ORT decode ms/step | decode speed (ORT/tsc) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (p, b), c in sorted(best.items()):
        t, o = c["tsc"], c["ort"]
        lines.append(f"| {p} | {b} | {t['prefill_ms']:.0f} | {o['prefill_ms']:.0f} | {o['prefill_ms'] / t['prefill_ms']:.2f}x | "
                     f"{t['decode_ms']:.1f} | {o['decode_ms']:.1f} | {o['decode_ms'] / t['decode_ms']:.2f}x |")
    return lines


if __name__ == "__main__":
    main()
