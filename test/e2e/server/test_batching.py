#!/usr/bin/env python3
"""Batching invariance: 200 concurrent greedy requests of random lengths (some sharing a prompt prefix, some
streamed) give exactly the token ids and text of the same requests sent one at a time, and afterwards every
KV page is free again. With --kv-memory small enough to force preemptions, the outputs stay the same.
The executable decodes with page selection (4 pages of 8 tokens), so selection acts on most sequences;
--exe gpt2_sketch_server runs the same against the key sketch score, whose page codes must survive the prefix
cache, copy-on-write and preemption as the bounds do."""
import argparse
import asyncio
import random
import time

from harness import Checks, Server, executables

MODEL = "gpt2_tok_dynamo"


def make_requests(count, seed):
    rng = random.Random(seed)
    shared = [rng.randrange(50257) for _ in range(40)]
    reqs = []
    for i in range(count):
        n = rng.randint(1, 120)
        prompt = [rng.randrange(50257) for _ in range(n)]
        if i % 3 == 0:
            prompt = shared + prompt[: max(1, n - 40)]
        reqs.append({"prompt": prompt, "max_tokens": rng.randint(1, 48), "stream": i % 2 == 1})
    return reqs


def result_of_stream(chunks):
    text, ids, finish = "", [], None
    for ch in chunks:
        for c in ch.choices:
            text += c.text
            ids += getattr(c, "token_ids", None) or (c.model_extra or {}).get("token_ids", []) or []
            finish = c.finish_reason or finish
    return text, ids, finish


async def one(cl, r):
    kw = dict(model=MODEL, prompt=r["prompt"], max_tokens=r["max_tokens"], temperature=0, extra_body={"return_token_ids": True, "ignore_eos": True})
    if r["stream"]:
        chunks = [ch async for ch in await cl.completions.create(stream=True, **kw)]
        return result_of_stream(chunks)
    out = await cl.completions.create(**kw)
    c = out.choices[0]
    return c.text, (c.model_extra or {}).get("token_ids"), c.finish_reason


async def concurrent(srv, reqs):
    cl = srv.async_client()
    try:
        return await asyncio.gather(*(one(cl, r) for r in reqs))
    finally:
        await cl.close()


async def sequential(srv, reqs):
    cl = srv.async_client()
    try:
        return [await one(cl, r) for r in reqs]
    finally:
        await cl.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--kv-memory", default=None, help="run the concurrent pass with this little KV memory (preemption)")
    ap.add_argument("--exe", default="gpt2_server", choices=["gpt2_server", "gpt2_sketch_server"])
    a = ap.parse_args()
    exe = executables(a.build)[a.exe]
    t = Checks()
    reqs = make_requests(a.count, 7)
    with Server(exe, "--log-format", "off") as srv:
        t0 = time.time()
        ref = asyncio.run(sequential(srv, reqs))
        print(f"one at a time: {time.time() - t0:.1f} s")
    args = ["--log-format", "off", "--max-queue", str(a.count)]
    if a.kv_memory:
        args += ["--kv-memory", a.kv_memory]
    with Server(exe, *args) as srv:
        t0 = time.time()
        got = asyncio.run(concurrent(srv, reqs))
        print(f"{a.count} at once: {time.time() - t0:.1f} s")
        bad = [i for i, (x, y) in enumerate(zip(got, ref)) if x != y]
        for i in bad[:5]:
            print(f"  request {i}: {got[i]} != {ref[i]}")
        t.check(not bad, f"{a.count} concurrent greedy requests equal the same requests one at a time ({len(bad)} differ)")
        t.check(all(len(r[1]) == q["max_tokens"] and r[2] == "length" for r, q in zip(got, reqs)), "every request generated max_tokens tokens")
        m = srv.wait_idle()
        total = srv.value(m, "tsc_kv_pages_total")
        t.check(srv.value(m, "tsc_kv_pages_used") == 0 and srv.value(m, "tsc_kv_pages_free") == total, f"every KV page is free afterwards ({total:.0f})")
        t.check(srv.value(m, "tsc_requests_in_flight") == 0, "nothing in flight")
        gen = sum(len(r[1]) for r in got)
        t.check(srv.value(m, "tsc_generation_tokens_total") == gen, f"tsc_generation_tokens_total == {gen}")
        t.check(srv.value(m, "tsc_prefix_cache_hits_total") > 0, "the shared prefix was served from the prefix cache")
        t.check(srv.value(m, "tsc_selection_pages_kept_total") < srv.value(m, "tsc_selection_pages_candidate_total"), "page selection acted")
        pre = srv.value(m, "tsc_preemptions_total")
        print(f"preemptions: {pre:.0f}, prefix-cache hit ratio {srv.value(m, 'tsc_prefix_cache_hit_ratio'):.2f}, "
              f"KV read ratio {srv.value(m, 'tsc_selection_kv_read_ratio'):.3f}")
        if a.kv_memory:
            t.check(pre > 0, "the small KV memory forced preemptions")
        rc = srv.stop()
        t.check(rc == 0, f"SIGTERM: exit status {rc}")
    t.done(srv)


if __name__ == "__main__":
    main()
