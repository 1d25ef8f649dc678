#!/usr/bin/env python3
"""Exports full-size, random-weight models of real shapes to ONNX with torch.onnx (dynamo, fp32,
external data), for the GPU checks and benchmarks: GPT2-medium-shaped and TinyLlama-1.1B-shaped.
Weights are drawn like the test fixtures' (matrices N(0, 1/fan_in), embeddings N(0, 1), norms 1 + 0.1 N)
so that logits are spread out and argmax comparisons mean something.

Usage: python3 tools/gpu/export_full.py OUT_DIR [--only gpt2_medium tinyllama] [--seq 64]
Writes OUT_DIR/<name>/{model.onnx, model.onnx.data, config.json, input_ids.npy, logits_ort.npy}."""
import argparse
import json
import os
import time

import numpy as np
import torch


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2 and ("wte" in name or "wpe" in name or "embed" in name):
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.ndim == 2:
                fan_in = p.shape[1] if "lm_head" in name or "proj" in name or ".layers." in name else p.shape[0]
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))


def build(name):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
    if name == "gpt2_medium":
        cfg = GPT2Config(n_layer=24, n_embd=1024, n_head=16, vocab_size=50257, n_positions=1024, use_cache=False)
        return GPT2LMHeadModel(cfg), cfg
    if name == "tinyllama":
        cfg = LlamaConfig(num_hidden_layers=22, hidden_size=2048, num_attention_heads=32, num_key_value_heads=4,
                          intermediate_size=5632, vocab_size=32000, max_position_embeddings=2048, rope_theta=10000.0,
                          rms_norm_eps=1e-5, tie_word_embeddings=False, use_cache=False)
        return LlamaForCausalLM(cfg), cfg
    raise SystemExit(f"unknown model {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--only", nargs="*", default=["gpt2_medium", "tinyllama"])
    ap.add_argument("--seq", type=int, default=64)
    a = ap.parse_args()
    for name in a.only:
        d = os.path.join(a.out, name)
        if os.path.exists(os.path.join(d, "logits_ort.npy")):
            print(f"{name}: present", flush=True)
            continue
        os.makedirs(d, exist_ok=True)
        t0 = time.time()
        model, cfg = build(name)
        randomize(model, 1)
        model.eval()
        ids = torch.from_numpy(np.random.default_rng(3).integers(0, cfg.vocab_size, size=(1, a.seq), dtype=np.int64))
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
        path = os.path.join(d, "model.onnx")
        prog = torch.onnx.export(model, (ids,), dynamo=True, dynamic_shapes=({0: batch, 1: seq},), external_data=True)
        prog.save(path, external_data=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg.to_dict(), f, sort_keys=True, indent=1, default=str)
        np.save(os.path.join(d, "input_ids.npy"), ids.numpy())
        print(f"{name}: exported in {time.time() - t0:.0f} s", flush=True)
        import onnxruntime as ort
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        logits = sess.run(None, {sess.get_inputs()[0].name: ids.numpy()})[0]
        np.save(os.path.join(d, "logits_ort.npy"), logits.astype(np.float32))
        with torch.no_grad():
            ref = model(ids).logits.numpy()
        err = float(np.abs(ref - logits).max() / np.abs(ref).max())
        print(f"{name}: onnxruntime vs torch rel err {err:.2e}, total {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
