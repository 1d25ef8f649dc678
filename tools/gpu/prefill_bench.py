#!/usr/bin/env python3
"""Time to first token and decode steps of tsc against HF transformers compiled (static cache, SDPA,
torch.compile) and eager, with the card's copy roofline and fp16 matrix rate, all in one run on one GPU;
long prompts (one prefill step of 2048-8192 tokens) as a fraction of the measured tensor rate; an eager
per-kernel profile (TSC_PROFILE=1) of the 128- and 2048-token prefills. Writes prefill.json under OUT and
prints a short table last.

Usage (GPU machine, after check.py's ensure_full built WORK/<model>/{model.onnx,cuda}):
  python3 tools/gpu/prefill_bench.py --work /tmp/tsc-work/full [--parts rates,tsc,long,ab,profile,hf,hf_compiled]
                                     [--models tinyllama,gpt2_medium]
Environment: TSC (tsc binary, for the long-prompt build), OUT."""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.environ.get("OUT", "/tmp/out")
HF = os.path.join(ROOT, "tools", "gpu", "hf_baseline.py")
# Shapes: layers, hidden, q heads * head dim, kv width, intermediate (gated: 2 up rows), vocab.
SHAPES = {"tinyllama": dict(L=22, H=2048, Q=2048, KV=256, I=5632, gated=True, V=32000, tied=False, batches=[1, 64]),
          "gpt2_medium": dict(L=24, H=1024, Q=1024, KV=1024, I=4096, gated=False, V=50257, tied=True, batches=[1, 32])}


def layer_params(s):
    """Weights of one token's layer GEMMs (QKV, out, up[/gate], down), all layers."""
    up = 2 * s["I"] if s["gated"] else s["I"]
    return s["L"] * (s["H"] * (s["Q"] + 2 * s["KV"]) + s["Q"] * s["H"] + s["H"] * up + s["I"] * s["H"])


def decode_bytes(s):
    """fp16 bytes a batch-1 decode step must read: every layer weight and the LM head."""
    return 2 * (layer_params(s) + s["V"] * s["H"])


def prefill_flops(s, batch, T):
    """Useful FLOPs of prefilling `batch` prompts of T tokens: 2 x layer params per token, causal attention
    (Q K^T and P V over the T(T+1)/2 visible pairs, 2 FLOPs per multiply-add), the LM head on the last row."""
    attn = 2 * 2 * s["L"] * s["Q"] * T * (T + 1) / 2
    return batch * (2 * layer_params(s) * T + attn + 2 * s["V"] * s["H"])


def issue_flops(s, batch, T):
    """The issue's count: 2 x all parameters (embeddings and LM head included) per token plus causal attention."""
    params = layer_params(s) + s["V"] * s["H"] * (1 if s["tied"] else 2)
    return batch * (2 * params * T + 2 * 2 * s["L"] * s["Q"] * T * (T + 1) / 2)


def sh(cmd, env=None, timeout=1200):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    with open(os.path.join(OUT, "prefill_bench.log"), "a") as f:
        f.write(f"$ {' '.join(cmd)}  ({time.time() - t0:.1f} s, rc {p.returncode})\n{p.stdout[-6000:]}{p.stderr[-6000:]}\n")
    return p


def jsons(p):
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]


def rates(ts):
    code = r"""
import torch, json
x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda"); y = torch.empty_like(x)
for _ in range(3): y.copy_(x)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
torch.cuda.synchronize(); s.record()
for _ in range(20): y.copy_(x)
e.record(); torch.cuda.synchronize(); copy = 2 * 20 * (1 << 30) / (s.elapsed_time(e) / 1e3)
del x, y
n = 8192; a = torch.randn(n, n, device="cuda", dtype=torch.float16); b = torch.randn(n, n, device="cuda", dtype=torch.float16)
for _ in range(3): a @ b
ts = []
for _ in range(10):
    s.record(); a @ b; e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e))
ts.sort()
mm = 2 * n ** 3 / (ts[len(ts) // 2] / 1e3)
del a, b
# PyTorch SDPA, causal, one sequence of T tokens, 32 query heads on 4 KV heads, head dim 64: the attention
# kernel a framework prefill runs (flash), beside tsc's per-layer prefill_attention time in the profile.
sdpa = {}
for T in TS:
    q = torch.randn(1, 32, T, 64, device="cuda", dtype=torch.float16)
    k = torch.randn(1, 4, T, 64, device="cuda", dtype=torch.float16); v = torch.randn_like(k)
    f = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    for _ in range(3): f()
    ts = []
    for _ in range(20):
        s.record(); f(); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e))
    ts.sort(); sdpa[T] = ts[10] * 1e3
print(json.dumps({"copy_bytes_per_s": copy, "fp16_matmul_flops_per_s": mm, "sdpa_causal_us": sdpa, "gpu": torch.cuda.get_device_name()}))
"""
    return jsons(sh([sys.executable, "-c", code.replace("TS", repr(list(ts)))]))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/tsc-work/full")
    ap.add_argument("--parts", default="rates,tsc,long,ab,profile,hf,hf_compiled", help="ab: long prompts with 64-query attention blocks too")
    ap.add_argument("--long", default="2048,4096,8192", help="long prompt lengths (TinyLlama shape, batch 1, one step)")
    ap.add_argument("--models", default=",".join(SHAPES), help="which shapes the tsc and HF parts time")
    a = ap.parse_args()
    models = {n: SHAPES[n] for n in a.models.split(",")}
    parts = set(a.parts.split(","))
    os.makedirs(OUT, exist_ok=True)
    # Kept beside the models (a warm machine keeps /tmp between calls), so parts may come in separate calls.
    path = os.path.join(a.work, "prefill.json")
    res = json.load(open(path)) if os.path.exists(path) else {"runs": []}
    longs = [int(x) for x in a.long.split(",") if x]
    if "rates" in parts:
        res["rates"] = rates([128] + longs)
        print("rates", res["rates"], flush=True)

    def save():  # after each part, so that a call cut short keeps what it measured
        json.dump(res, open(path, "w"), indent=1)
        json.dump(res, open(os.path.join(OUT, "prefill.json"), "w"), indent=1)

    # Part by part (the quick tsc runs first, the baselines' compiles last), each over both models.
    for name, s in models.items():
        exe = os.path.join(a.work, name, "cuda")
        if "tsc" in parts and os.path.exists(exe):
            # --chunk 8192: each batch's prompts (<= 64 x 128 tokens) prefill in one step.
            for j in jsons(sh([exe, "bench", "--batch", *map(str, s["batches"]), "--prompt-len", "128", "--gen", "256", "--chunk", "8192",
                               "--json", "--dense"])):
                j.update(model=name, impl="tsc")
                res["runs"].append(j)
                print(f"tsc {name} b{j['batch']}: ttft {j['ttft_ms']:.2f} ms ({j['prefill_steps']} steps; cold first step "
                      f"{j['prefill_first_step_cold_ms']:.1f} ms), step {j['step_ms_median']:.3f} ms", flush=True)
            save()
    s = SHAPES["tinyllama"]
    exe_long = os.path.join(a.work, "tinyllama", "cuda_long_prefill")
    if ("long" in parts or "profile" in parts) and not os.path.exists(exe_long):
        sh([os.environ.get("TSC", "tsc"), os.path.join(a.work, "tinyllama", "model.onnx"), "-o", exe_long, "--target", "cuda",
            "--max-seq-len", str(max(longs) + 64), "--max-batch", "1"])
    if "long" in parts and os.path.exists(exe_long):
        # Default attention blocks (128 queries on large grids) and, for A/B, 64-query blocks forced.
        for T in longs:
            for rows in ("", "64") if "ab" in parts else ("",):
                env = {**os.environ, "TSC_PREFILL_ROWS": rows}
                for j in jsons(sh([exe_long, "bench", "--batch", "1", "--prompt-len", str(T), "--gen", "4", "--warmup", "0", "--chunk", str(T),
                                   "--json", "--dense"], env=env)):
                    j.update(model="tinyllama", impl="tsc", workload="long_prefill", prefill_rows=rows or "auto",
                             flops=prefill_flops(s, 1, T), flops_issue=issue_flops(s, 1, T))
                    res["runs"].append(j)
                    print(f"tsc tinyllama prompt {T} ({rows or 'auto'}-query attention blocks): ttft {j['ttft_ms']:.2f} ms, "
                          f"{j['flops'] / j['ttft_ms'] / 1e9:.0f} TFLOP/s", flush=True)
        save()
    if "profile" in parts and os.path.exists(exe_long):
        prof = {}
        for T, exe in ((128, os.path.join(a.work, "tinyllama", "cuda")), (longs[0] if longs else 2048, exe_long)):
            p = sh([exe, "bench", "--batch", "1", "--prompt-len", str(T), "--gen", "2", "--warmup", "0", "--chunk", str(T), "--dense"],
                   env={**os.environ, "TSC_PROFILE": "1"})
            prof[str(T)] = [l.strip() for l in p.stderr.splitlines() if "calls" in l]
            print(f"profile tinyllama prompt {T} (warm-up, cold and timed prefill, 2 decode steps):\n  " + "\n  ".join(prof[str(T)]), flush=True)
        res["profile"] = prof
        save()
    for part, extra in (("hf", []), ("hf_compiled", ["--compiled"])):
        for name, shape in models.items():
            if part not in parts:
                continue
            for j in jsons(sh([sys.executable, HF, "--model", name, "--batch", *map(str, shape["batches"]), "--prompt", "128", "--gen", "256", *extra],
                              timeout=1500)):
                res["runs"].append(j)
                save()
                print(f"{j['impl']} {name} b{j['batch']}: ttft {j['ttft_ms']:.2f} ms, step {j['step_ms']:.3f} ms"
                      f"{', compile %.0f s' % j['compile_s'] if 'compile_s' in j else ''}", flush=True)
    save()
    table(res)


def table(res):
    r = res.get("rates", {})
    bw, mm = r.get("copy_bytes_per_s"), r.get("fp16_matmul_flops_per_s")
    print(f"\n{r.get('gpu', '?')}: copy {bw / 1e12 if bw else float('nan'):.2f} TB/s, fp16 matmul {mm / 1e12 if mm else float('nan'):.0f} TFLOP/s")
    print(f"{'model':12} {'B':>3} | {'ttft tsc':>9} {'compiled':>9} {'eager':>9} {'vs comp':>7} | {'step tsc':>9} {'compiled':>9} {'eager':>9} {'roofline':>8} {'vs comp':>7}")
    for name, s in SHAPES.items():
        for B in s["batches"]:
            get = lambda impl: next((j for j in res["runs"] if j.get("model") == name and j.get("impl") == impl and j["batch"] == B
                                     and j.get("prompt_len") == 128 and not j.get("workload")), {})  # noqa: E731
            t, c, e = get("tsc"), get("hf-transformers-compiled"), get("hf-transformers-eager")
            roof = decode_bytes(s) / bw * 1e3 if bw and B == 1 else float("nan")
            ts, cs, es = t.get("step_ms_median", float("nan")), c.get("step_ms", float("nan")), e.get("step_ms", float("nan"))
            tt, ct, et = t.get("ttft_ms", float("nan")), c.get("ttft_ms", float("nan")), e.get("ttft_ms", float("nan"))
            print(f"{name:12} {B:>3} | {tt:9.2f} {ct:9.2f} {et:9.2f} {ct / tt:6.2f}x | {ts:9.3f} {cs:9.3f} {es:9.3f} {roof:8.3f} {cs / ts:6.2f}x")
    for j in res["runs"]:
        if j.get("workload") == "long_prefill":
            tf = j["flops"] / j["ttft_ms"] / 1e9
            ti = j["flops_issue"] / j["ttft_ms"] / 1e9
            print(f"tinyllama prefill {j['prompt_len']} tokens ({j.get('prefill_rows', 'auto')}): {j['ttft_ms']:.2f} ms, {tf:.0f} TFLOP/s useful"
                  f"{' (%.0f%% of the fp16 matmul rate)' % (100 * tf * 1e12 / mm) if mm else ''}, {ti:.0f} TFLOP/s by the issue's count"
                  f"{' (%.0f%%)' % (100 * ti * 1e12 / mm) if mm else ''}")


if __name__ == "__main__":
    main()
