#!/usr/bin/env python3
"""PyTorch SDPA on the decode-attention shapes of tools/gpu/attn_bench.cu (one query token, 32 query heads
on 4 KV heads, head dim 64, fp16): the framework baseline for the kernel-level comparison, timed with CUDA
events (median). Both the GQA-native call (enable_gqa) and the expanded-KV call are timed; the faster counts.
Usage: python3 tools/gpu/sdpa_bench.py --batch 16 --context 32768"""
import argparse
import json

import torch
import torch.nn.functional as F


def median_ms(fn, iters=50):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=32768)
    a = ap.parse_args()
    B, L, HQ, HKV, D = a.batch, a.context, 32, 4, 64
    q = torch.randn(B, HQ, 1, D, device="cuda", dtype=torch.float16)
    k = torch.randn(B, HKV, L, D, device="cuda", dtype=torch.float16)
    v = torch.randn(B, HKV, L, D, device="cuda", dtype=torch.float16)
    res = {"batch": B, "context": L}
    try:
        res["sdpa_gqa_us"] = 1e3 * median_ms(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
    except Exception as e:  # noqa: BLE001
        res["sdpa_gqa_error"] = str(e)[:200]
    ke, ve = k.repeat_interleave(HQ // HKV, dim=1), v.repeat_interleave(HQ // HKV, dim=1)
    res["sdpa_expanded_us"] = 1e3 * median_ms(lambda: F.scaled_dot_product_attention(q, ke, ve))
    res["sdpa_best_us"] = min(v for k_, v in res.items() if k_.endswith("_us"))
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
