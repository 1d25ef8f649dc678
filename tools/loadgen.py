#!/usr/bin/env python3
"""Load generator for an OpenAI-compatible server (model_server, vLLM, ...): sends requests with prompt and
output lengths drawn from distributions, at a fixed concurrency or a Poisson arrival rate, streaming or not,
and reports throughput and latency percentiles (time to first token, inter-token latency, end to end).

    python3 tools/loadgen.py --url http://127.0.0.1:8000 --requests 500 --concurrency 64 \\
        --prompt-len uniform:16:512 --max-tokens normal:128:32 --json results.json

Distributions: fixed:N, uniform:LO:HI, normal:MEAN:STD, lognormal:MEDIAN:SIGMA, choice:A,B,C (all clamped
to >= 1). Prompts are random words (--prompt-kind text, about one token per word) or random token ids
(--prompt-kind ids, exact lengths, needs --vocab). Uses the official `openai` package.
Setup: bash tools/install_deps.sh (openai), and a running model_server."""
import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time

WORDS = ("the of and to in is was for on that with as by at from his her an which have are were not this had it but be they "
         "their one all been has more when there time only can new some would other into could after first two about these over "
         "river mountain signal engine harbor garden lantern quiet violet copper meadow thunder archive orbit canyon whisper").split()


def parse_dist(spec):
    kind, _, rest = spec.partition(":")
    args = rest.split(":") if rest else []
    try:
        if kind == "fixed":
            v = int(args[0])
            return lambda rng: v
        if kind == "uniform":
            lo, hi = int(args[0]), int(args[1])
            return lambda rng: rng.randint(lo, hi)
        if kind == "normal":
            mu, sd = float(args[0]), float(args[1])
            return lambda rng: max(1, round(rng.gauss(mu, sd)))
        if kind == "lognormal":
            med, sigma = float(args[0]), float(args[1])
            return lambda rng: max(1, round(med * math.exp(rng.gauss(0, sigma))))
        if kind == "choice":
            vals = [int(x) for x in rest.split(",")]
            return lambda rng: rng.choice(vals)
    except (IndexError, ValueError):
        pass
    raise SystemExit(f"loadgen: bad distribution '{spec}'\n---> HINT: use fixed:N, uniform:LO:HI, normal:MEAN:STD, lognormal:MEDIAN:SIGMA or choice:A,B,C")


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    f, c = math.floor(k), math.ceil(k)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


class Result:
    __slots__ = ("ok", "error", "ttft", "itls", "e2e", "prompt_tokens", "output_tokens")

    def __init__(self):
        self.ok, self.error, self.ttft, self.itls, self.e2e = False, "", None, [], None
        self.prompt_tokens = self.output_tokens = 0


async def one_request(client, a, model, prompt, max_tokens):
    r = Result()
    extra = {"ignore_eos": True} if a.ignore_eos else {}
    t0 = time.perf_counter()
    try:
        if a.chat:
            kw = dict(model=model, messages=[{"role": "user", "content": prompt if isinstance(prompt, str) else " ".join(map(str, prompt))}],
                      max_tokens=max_tokens, temperature=a.temperature, extra_body=extra)
        else:
            kw = dict(model=model, prompt=prompt, max_tokens=max_tokens, temperature=a.temperature, extra_body=extra)
        create = client.chat.completions.create if a.chat else client.completions.create
        if a.stream:
            last = None
            stream = await create(stream=True, stream_options={"include_usage": True}, **kw)
            async for ch in stream:
                now = time.perf_counter()
                if ch.usage:
                    r.prompt_tokens, r.output_tokens = ch.usage.prompt_tokens, ch.usage.completion_tokens
                if not ch.choices:
                    continue
                c = ch.choices[0]
                text = (c.delta.content if a.chat else c.text) or ""
                if not text and not c.finish_reason:
                    continue
                if text:
                    if r.ttft is None:
                        r.ttft = now - t0
                    elif last is not None:
                        r.itls.append(now - last)
                    last = now
        else:
            out = await create(**kw)
            r.ttft = time.perf_counter() - t0  # without streaming, the first token comes with the last
            r.prompt_tokens, r.output_tokens = out.usage.prompt_tokens, out.usage.completion_tokens
        r.e2e = time.perf_counter() - t0
        r.ok = True
    except Exception as e:  # noqa: BLE001 - a load test counts failures, it does not stop at them
        r.error = f"{type(e).__name__}: {str(e)[:200]}"
    return r


async def run(a):
    from openai import AsyncOpenAI
    client = AsyncOpenAI(base_url=a.url.rstrip("/") + "/v1", api_key=a.api_key or "none", max_retries=0, timeout=a.timeout)
    model = a.model or (await client.models.list()).data[0].id
    rng = random.Random(a.seed)
    plen, olen = parse_dist(a.prompt_len), parse_dist(a.max_tokens)
    jobs = []
    for _ in range(a.requests):
        n = plen(rng)
        prompt = [rng.randrange(a.vocab) for _ in range(n)] if a.prompt_kind == "ids" else " ".join(rng.choice(WORDS) for _ in range(n))
        jobs.append((prompt, olen(rng)))
    sem = asyncio.Semaphore(a.concurrency)
    results = []

    async def guarded(p, m):
        async with sem:
            results.append(await one_request(client, a, model, p, m))

    t0 = time.perf_counter()
    tasks = []
    for p, m in jobs:
        tasks.append(asyncio.create_task(guarded(p, m)))
        if a.rate > 0:
            await asyncio.sleep(rng.expovariate(a.rate))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    await client.close()
    return model, wall, results


def report(a, model, wall, results):
    ok = [r for r in results if r.ok]
    errors = {}
    for r in results:
        if not r.ok:
            errors[r.error] = errors.get(r.error, 0) + 1
    out_tokens = sum(r.output_tokens for r in ok)
    in_tokens = sum(r.prompt_tokens for r in ok)
    ttft = [r.ttft for r in ok if r.ttft is not None]
    itl = [x for r in ok for x in r.itls]
    e2e = [r.e2e for r in ok]
    summary = {
        "model": model, "url": a.url, "requests": len(results), "completed": len(ok), "failed": len(results) - len(ok),
        "concurrency": a.concurrency, "rate": a.rate, "stream": a.stream, "prompt_len": a.prompt_len, "max_tokens": a.max_tokens,
        "duration_s": wall, "requests_per_s": len(ok) / wall if wall else 0, "output_tokens": out_tokens, "prompt_tokens": in_tokens,
        "output_tokens_per_s": out_tokens / wall if wall else 0, "total_tokens_per_s": (out_tokens + in_tokens) / wall if wall else 0,
        "errors": errors,
    }
    for name, xs in (("ttft", ttft), ("itl", itl), ("e2e", e2e)):
        summary[name + "_ms"] = {"mean": statistics.fmean(xs) * 1e3 if xs else float("nan"),
                                 **{f"p{p}": percentile(xs, p) * 1e3 for p in (50, 90, 99)}}
    print(f"model {model} at {a.url}: {summary['completed']}/{summary['requests']} requests in {wall:.2f} s "
          f"(concurrency {a.concurrency}{f', rate {a.rate}/s' if a.rate else ''}, {'streaming' if a.stream else 'not streaming'})")
    print(f"throughput: {summary['requests_per_s']:.2f} req/s, {summary['output_tokens_per_s']:.1f} output tokens/s, "
          f"{summary['total_tokens_per_s']:.1f} total tokens/s ({in_tokens} prompt + {out_tokens} output tokens)")
    print(f"{'latency (ms)':<14}{'mean':>10}{'p50':>10}{'p90':>10}{'p99':>10}")
    for name, label in (("ttft", "TTFT"), ("itl", "ITL"), ("e2e", "end to end")):
        s = summary[name + "_ms"]
        print(f"{label:<14}{s['mean']:>10.1f}{s['p50']:>10.1f}{s['p90']:>10.1f}{s['p99']:>10.1f}")
    for e, n in errors.items():
        print(f"failed x{n}: {e}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=2)
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL (without /v1)")
    ap.add_argument("--model", help="model name (default: the first of /v1/models)")
    ap.add_argument("--api-key", default="", help="Bearer token, if the server wants one")
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16, help="most requests in flight")
    ap.add_argument("--rate", type=float, default=0, help="Poisson arrivals per second (0: all at once, bounded by --concurrency)")
    ap.add_argument("--prompt-len", default="uniform:16:128", help="prompt length distribution (words or token ids)")
    ap.add_argument("--max-tokens", default="fixed:64", help="max_tokens distribution")
    ap.add_argument("--prompt-kind", choices=("text", "ids"), default="text")
    ap.add_argument("--vocab", type=int, default=32000, help="vocabulary size for --prompt-kind ids")
    ap.add_argument("--chat", action="store_true", help="use /v1/chat/completions")
    ap.add_argument("--no-stream", dest="stream", action="store_false", help="plain responses (TTFT = end to end)")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--no-ignore-eos", dest="ignore_eos", action="store_false", help="let end-of-sequence tokens end requests early")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the summary here")
    a = ap.parse_args()
    model, wall, results = asyncio.run(run(a))
    summary = report(a, model, wall, results)
    sys.exit(0 if summary["failed"] == 0 else 1)


if __name__ == "__main__":
    main()
