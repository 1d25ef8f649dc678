#!/usr/bin/env python3
# Makes the onnxruntime-genai fixtures: a tiny random Llama-GQA model built by onnxruntime-genai's model builder (fp32, int4, fp16; cpu and cuda EPs) and onnxruntime's logits on each file.
"""Usage: python3 test/gen/make_genai_forms.py [--out test/Inputs/fixtures]

onnxruntime-genai 0.18's builder needs transformers 5, so the script runs itself inside its own virtual environment,
models/cache/genai-venv (created on first use with --system-site-packages for torch/transformers/onnxruntime, plus
onnxruntime-genai from PyPI). The builder runs on this CPU machine for every execution provider it is asked for.

llama_gqa_genai/ holds one builder output folder per form, as the builder writes it (`-o FORM`):
    FORM/genai_config.json model.onnx model.onnx.data tokenizer.json tokenizer_config.json
  fp32_cpu      -p fp32 -e cpu    GroupQueryAttention on packed QKV, rotary inside (cos/sin caches)
  fp32_cpu_qkv  -p fp32 -e cpu --extra_options disable_qkv_fusion=true   the same on separate q/k/v projections
  int4_cpu      -p int4 -e cpu    MatMulNBits (4 bits, block 32, symmetric, accuracy_level 4)
  fp16_cuda     -p fp16 -e cuda   float16 weights and I/O
and, for the tests:
    reference/config.json          the HF config the builder read (keys genai_config.json does not carry)
    reference/input_ids.npy        int64 [2, 12], random token ids
    reference/FORM.logits.npy      float32 [2, 12, V]: onnxruntime CPU on FORM/model.onnx through the cache path (prefill
                                   8 tokens with an empty past, then 4 single-token steps feeding present.* back)
    reference/int4_cpu.fp32_activations.logits.npy   the same on int4_cpu with accuracy_level 0 (see with_fp32_activations)
    reference/meta.json            versions, seed, builder command and op census of every form
Everything is seeded; a seed whose logits (of any form) have a near-tie top-1/top-2 is skipped.
"""

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from downloaded_forms import ensure_venv, train_tokenizer  # noqa: E402

ensure_venv(__file__, ROOT / "models/cache/genai-venv", ["onnxruntime-genai==0.18.0"])

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

sys.path.insert(0, str(ROOT / "test/gen"))
from make_fixtures import gap_ok, randomize, small_llama  # noqa: E402

NAME = "llama_gqa_genai"
SEED0, MAX_SEED_TRIES = 22000, 30
BATCH, SEQ, PREFILL = 2, 12, 8
TOL_FP32 = 1e-4   # onnxruntime on the fp32 files vs the torch model, relative to max|logit|
FORMS = {
    "fp32_cpu": ["-p", "fp32", "-e", "cpu"],
    "fp32_cpu_qkv": ["-p", "fp32", "-e", "cpu", "--extra_options", "disable_qkv_fusion=true"],
    "int4_cpu": ["-p", "int4", "-e", "cpu"],
    "fp16_cuda": ["-p", "fp16", "-e", "cuda"],
}


def config():
    # As llama_gqa_optimum: GQA 4/2, hidden 64, intermediate 256, untied, theta 5e4, eps 1e-5, context 256.
    cfg = small_llama(num_key_value_heads=2, intermediate_size=256, rms_norm_eps=1e-5, rope_theta=50000.0,
                      bos_token_id=511, eos_token_id=511)
    cfg.architectures = ["LlamaForCausalLM"]
    return cfg


def op_census(path: Path) -> dict:
    m = onnx.load(str(path), load_external_data=False)
    c = collections.Counter(f"{n.domain or 'ai.onnx'}::{n.op_type}" for n in m.graph.node)
    return dict(sorted(c.items()))


def ort_logits(path: Path, ids: np.ndarray, kv_heads: int, head_dim: int) -> np.ndarray:
    """The builder's inputs: input_ids, attention_mask over past + current, past_key_values.* ([b, kv, past, d],
    head dim symbolic in the file); GroupQueryAttention takes positions from the mask."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    past_inputs = [i for i in sess.get_inputs() if i.name.startswith("past_key_values.")]
    dt = np.float16 if past_inputs[0].type == "tensor(float16)" else np.float32
    past = {i.name: np.zeros((ids.shape[0], kv_heads, 0, head_dim), dt) for i in past_inputs}
    out_names = [o.name for o in sess.get_outputs()]
    chunks, start = [], 0
    for end in [PREFILL] + list(range(PREFILL + 1, ids.shape[1] + 1)):
        feeds = {"input_ids": ids[:, start:end], "attention_mask": np.ones((ids.shape[0], end), np.int64), **past}
        outs = dict(zip(out_names, sess.run(out_names, feeds)))
        chunks.append(outs["logits"].astype(np.float32))
        past = {n.replace("present.", "past_key_values."): v for n, v in outs.items() if n.startswith("present.")}
        start = end
    return np.concatenate(chunks, axis=1)


def with_fp32_activations(src: Path, dst: Path) -> Path:
    """A copy of src with every MatMulNBits at accuracy_level 0. The builder writes accuracy_level 4, which lets
    onnxruntime's CPU kernel quantize activations to int8 per block; level 0 computes what the file's weights say in
    float (dequantized weights times activations), as tsc does."""
    m = onnx.load(str(src))
    for n in m.graph.node:
        for a in n.attribute:
            if n.op_type == "MatMulNBits" and a.name == "accuracy_level":
                a.i = 0
    dst.mkdir(parents=True)
    onnx.save(m, str(dst / "model.onnx"), save_as_external_data=True, location="model.onnx.data")
    return dst / "model.onnx"


def attempt(seed: int, root: Path):
    cfg = config()
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(cfg).eval()
    randomize(model)
    ids = np.random.RandomState(seed).randint(0, cfg.vocab_size, size=(BATCH, SEQ)).astype(np.int64)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids), use_cache=False).logits.numpy()
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    logits, errs, cmds = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        hf = Path(tmp) / "hf"
        model.save_pretrained(hf)
        train_tokenizer(cfg.vocab_size, seed).save_pretrained(hf)
        for form, args in FORMS.items():
            cmd = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(hf), "-o", str(root / form),
                   "-c", str(Path(tmp) / "cache"), *args]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            cmds[form] = "python -m onnxruntime_genai.models.builder -i HF_DIR -o " + form + " " + " ".join(args)
            logits[form] = ort_logits(root / form / "model.onnx", ids, cfg.num_key_value_heads, head_dim)
            if not gap_ok(logits[form]):
                print(f"  {NAME}: seed {seed}: {form} has a near-tie top-1/top-2 logit; retrying", flush=True)
                return None
            errs[form] = float(np.abs(logits[form] - ref).max() / np.abs(ref).max())
            if form.startswith("int4"):
                acc0 = with_fp32_activations(root / form / "model.onnx", Path(tmp) / f"{form}_acc0")
                logits[f"{form}.fp32_activations"] = ort_logits(acc0, ids, cfg.num_key_value_heads, head_dim)
                if not gap_ok(logits[f"{form}.fp32_activations"]):
                    print(f"  {NAME}: seed {seed}: {form} at accuracy_level 0 has a near-tie top-1/top-2 logit; retrying", flush=True)
                    return None
        refdir = root / "reference"
        refdir.mkdir()
        shutil.copy(hf / "config.json", refdir / "config.json")
    for form in ("fp32_cpu", "fp32_cpu_qkv"):
        assert errs[form] <= TOL_FP32, f"{form}: onnxruntime vs torch relative error {errs[form]:.3g} > {TOL_FP32}"
    np.save(refdir / "input_ids.npy", ids)
    for form, arr in logits.items():
        np.save(refdir / f"{form}.logits.npy", arr.astype(np.float32))
    import onnxruntime_genai
    meta = {
        "name": NAME, "seed": seed,
        "note": "Llama GQA 4/2 heads, hidden 64, intermediate 256, untied, rope_theta 5e4, eps 1e-5, vocab 512",
        "forms": {f: {"made_by": cmds[f], "ops": op_census(root / f / "model.onnx"), "ort_vs_torch_fp32_max_rel_err": errs[f]}
                  for f in FORMS},
        "reference": (f"onnxruntime {ort.__version__} CPU, one thread, on FORM/model.onnx through the cache path: prefill of "
                      "tokens 0..7 with an empty past (length 0), then tokens 8..11 one at a time feeding present.* back as "
                      "past_key_values.*; attention_mask all ones over past+current; logits of all steps concatenated, float32"),
        "versions": {"onnxruntime-genai": onnxruntime_genai.__version__, "transformers": transformers.__version__,
                     "torch": torch.__version__, "onnxruntime": ort.__version__, "onnx": onnx.__version__},
    }
    (refdir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "test/Inputs/fixtures")
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = args.out / NAME
    for seed in range(SEED0, SEED0 + MAX_SEED_TRIES):
        if root.exists():
            shutil.rmtree(root)
        meta = attempt(seed, root)
        if meta is not None:
            sizes = {f: sum(p.stat().st_size for p in (root / f).iterdir()) for f in FORMS}
            print(f"{NAME}: seed {seed}; " + ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in sizes.items()) +
                  "; rel err vs torch: " + ", ".join(f"{k} {v['ort_vs_torch_fp32_max_rel_err']:.1e}"
                                                      for k, v in meta["forms"].items()), flush=True)
            return
    raise RuntimeError(f"{NAME}: no seed in {MAX_SEED_TRIES} tries gave argmax-robust logits in every form")


if __name__ == "__main__":
    main()
