#!/usr/bin/env python3
"""The baselines users run today, on the same shapes as tsc's benchmarks, timed in the same call on the same
GPU: HF transformers `generate` (fp16, greedy) eager (eager attention), and compiled: a static KV cache
(`cache_implementation="static"`), SDPA attention, generate compiling the decode forward with torch.compile
and replaying CUDA graphs (the gpt-fast recipe; the prompt's forward stays eager, as generate runs it).
Compiled: the first generate of each batch shape compiles (compile_s, reported apart); the timed runs are warm.

Usage: python3 tools/gpu/hf_baseline.py --model tinyllama|gpt2_medium --batch 1 64 [--prompt 128] [--gen 256] [--compiled]
Prints one JSON line per batch size: tokens/s, ms per step, TTFT (median of 3 warm runs), peak GPU memory."""
import argparse
import json
import time

import torch


def build(name, attn="eager"):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
    if name == "gpt2_medium":
        cfg = GPT2Config(n_layer=24, n_embd=1024, n_head=16, vocab_size=50257, n_positions=1024)
        cls = GPT2LMHeadModel
    else:
        cfg = LlamaConfig(num_hidden_layers=22, hidden_size=2048, num_attention_heads=32, num_key_value_heads=4,
                          intermediate_size=5632, vocab_size=32000, max_position_embeddings=4096, tie_word_embeddings=False)
        cls = LlamaForCausalLM
    cfg._attn_implementation = attn
    with torch.device("cuda"):
        model = cls(cfg).half().eval()
    return model, cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tinyllama")
    ap.add_argument("--batch", type=int, nargs="+", default=[1])
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--gen", type=int, default=256)
    ap.add_argument("--mixed", action="store_true", help="prompt lengths uniform in [64, 2048], left-padded to one batch")
    ap.add_argument("--compiled", action="store_true", help="static cache + SDPA + torch.compile (generate's own)")
    a = ap.parse_args()
    model, cfg = build(a.model, "sdpa" if a.compiled else "eager")
    if a.compiled:
        return compiled(model, cfg, a)
    for B in a.batch:
        kw = dict(do_sample=False, pad_token_id=0, eos_token_id=None)
        if a.mixed:
            g = torch.Generator().manual_seed(1234)
            lens = torch.randint(64, 2049, (B,), generator=g)
            width = int(lens.max())
            ids = torch.zeros(B, width, dtype=torch.long)
            mask = torch.zeros(B, width, dtype=torch.long)
            for b, n in enumerate(lens.tolist()):
                ids[b, width - n:] = torch.randint(0, cfg.vocab_size, (n,), generator=g)
                mask[b, width - n:] = 1
            ids, kw["attention_mask"] = ids.cuda(), mask.cuda()
        else:
            ids = torch.randint(0, cfg.vocab_size, (B, a.prompt), device="cuda")
        model.generate(ids, max_new_tokens=4, min_new_tokens=4, **kw)  # warm-up
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        model.generate(ids, max_new_tokens=1, min_new_tokens=1, **kw)
        torch.cuda.synchronize()
        ttft = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        out = model.generate(ids, max_new_tokens=a.gen, min_new_tokens=a.gen, **kw)
        torch.cuda.synchronize()
        total = (time.perf_counter() - t0) * 1e3
        new = out.shape[1] - ids.shape[1]
        step = (total - ttft) / max(new - 1, 1)
        print(json.dumps({"model": a.model, "impl": "hf-transformers-eager", "batch": B, "prompt_len": -1 if a.mixed else a.prompt, "gen": new,
                          "ttft_ms": ttft, "step_ms": step, "tokens_per_s": B * 1000.0 / step,
                          "peak_memory_bytes": torch.cuda.max_memory_allocated()}), flush=True)


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3, out


def compiled(model, cfg, a):
    for B in a.batch:
        ids = torch.randint(0, cfg.vocab_size, (B, a.prompt), device="cuda")
        kw = dict(do_sample=False, pad_token_id=0, eos_token_id=None, cache_implementation="static")
        gen = lambda n: model.generate(ids, max_new_tokens=n, min_new_tokens=n, **kw)  # noqa: E731
        compile_ms, _ = timed(lambda: gen(a.gen))  # compiles the decode step for this batch shape
        timed(lambda: gen(a.gen))  # settles (CUDA graph pools, allocator)
        torch.cuda.reset_peak_memory_stats()
        ttfts = sorted(timed(lambda: gen(1))[0] for _ in range(3))
        ttft = ttfts[1]
        runs = sorted((timed(lambda: gen(a.gen)) for _ in range(2)), key=lambda r: r[0])
        total, out = runs[0]
        new = out.shape[1] - ids.shape[1]
        step = (total - ttft) / max(new - 1, 1)
        print(json.dumps({"model": a.model, "impl": "hf-transformers-compiled", "batch": B, "prompt_len": a.prompt, "gen": new,
                          "compile_s": compile_ms / 1e3, "compiled_forward": getattr(model, "_compiled_call", None) is not None,
                          "ttft_ms": ttft, "ttft_runs_ms": ttfts, "step_ms": step,
                          "tokens_per_s": B * 1000.0 / step, "peak_memory_bytes": torch.cuda.max_memory_allocated(),
                          "transformers": __import__("transformers").__version__, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
