#!/usr/bin/env python3
"""CPU replicas behind the router (serve --replicas 2): same-prefix requests land on the same replica and hit its
prefix cache (visible per device in /metrics), concurrent load spreads over both, greedy outputs through the router
equal one engine's (batching invariance across replicas), a failed replica (TSC_TEST_FAIL_ENGINE, a test-only hook)
ends its requests with an error naming it while the other keeps serving and /health says degraded, and SIGTERM
drains both replicas."""
import argparse
import asyncio
import json
import random
import signal
import threading
import time

from harness import Checks, Server, executables
from test_batching import concurrent, make_requests, sequential

MODEL = "gpt2_tok_dynamo"
PAGE = 8  # the fixture's KV page (tokens)


def total(srv, m, name, **labels):
    """A series summed over the device label."""
    return sum(v for k, v in m.get(name, {}).items() if all((n, x) in k for n, x in labels.items()))


def device_of(cl, prompt, max_tokens=2):
    raw = cl.completions.with_raw_response.create(model=MODEL, prompt=prompt, max_tokens=max_tokens, temperature=0, extra_body={"ignore_eos": True})
    raw.parse()
    return raw.headers.get("x-tsc-device")


def affinity(exe, t):
    rng = random.Random(3)
    prefix = {g: [rng.randrange(50257) for _ in range(5 * PAGE)] for g in "AB"}  # 5 full pages each
    with Server(exe, "--replicas", "2", "--log-format", "off") as srv:
        t.check(any("2 engines behind one router" in l for l in srv.log), "the start line names the 2 engines")
        cl = srv.client()
        seen = {"A": [], "B": []}
        for i in range(6):  # one at a time: without affinity, ties would alternate between the replicas
            for g in "AB":
                seen[g].append(device_of(cl, prefix[g] + [rng.randrange(50257) for _ in range(5)]))
        print("devices:", seen)
        t.check(all(len(set(v)) == 1 and v[0] in ("0", "1") for v in seen.values()), "same-prefix requests land on the same replica")
        t.check(seen["A"][0] != seen["B"][0], "the two prefixes went to different replicas (idle ties alternate)")
        m = srv.wait_idle()
        hits = total(srv, m, "tsc_prefix_cache_hits_total")
        t.check(hits == 2 * 5 * 5 * PAGE, f"every repeat served its 5 prefix pages from the cache ({hits:.0f} tokens)")
        for d in ("0", "1"):
            ratio = srv.value(m, "tsc_prefix_cache_hit_ratio", device=d)
            t.check(ratio > 0.5, f"device {d}: prefix-cache hit ratio {ratio:.2f} in /metrics")
            t.check(srv.value(m, "tsc_engine_up", device=d) == 1, f"device {d} is up")
        t.check(total(srv, m, "tsc_router_requests_total", reason="affinity") == 10, "10 requests routed by affinity")
        t.check("tsc_kv_pages_total" in m and all(dict(k).get("device") in ("0", "1") for k in m["tsc_kv_pages_total"]),
                "engine-level series carry the device label")
        # Load: 8 distinct requests at once spread over both replicas.
        before = {d: srv.value(m, "tsc_requests_finished_total", device=d) for d in ("0", "1")}
        asyncio.run(concurrent(srv, [{"prompt": [rng.randrange(50257) for _ in range(12)], "max_tokens": 24, "stream": False} for _ in range(8)]))
        m = srv.wait_idle()
        got = {d: srv.value(m, "tsc_requests_finished_total", device=d) - before[d] for d in ("0", "1")}
        t.check(got["0"] >= 2 and got["1"] >= 2 and got["0"] + got["1"] == 8, f"8 concurrent requests spread over both replicas ({got})")
        code, text, _ = srv.get("/health")
        h = json.loads(text)
        t.check(code == 200 and h["status"] == "ok" and [e["device"] for e in h["engines"]] == ["0", "1"], f"/health reports each engine ({text})")


def invariance(exe, t, count):
    reqs = make_requests(count, 11)
    with Server(exe, "--log-format", "off") as srv:
        ref = asyncio.run(sequential(srv, reqs))
    with Server(exe, "--replicas", "2", "--log-format", "off", "--max-queue", str(count)) as srv:
        got = asyncio.run(concurrent(srv, reqs))
        bad = [i for i, (x, y) in enumerate(zip(got, ref)) if x != y]
        for i in bad[:5]:
            print(f"  request {i}: {got[i]} != {ref[i]}")
        t.check(not bad, f"{count} concurrent greedy requests through 2 replicas equal one engine's, one at a time ({len(bad)} differ)")
        m = srv.wait_idle()
        served = [srv.value(m, "tsc_requests_finished_total", device=d) for d in ("0", "1")]
        t.check(min(served) > 0 and sum(served) == count, f"both replicas served ({served})")
        t.check(total(srv, m, "tsc_kv_pages_used") == 0, "every KV page is free afterwards")


def failure(exe, t):
    # Replica 1 fails at its 3rd step; replica 0 keeps serving.
    import os
    env = dict(os.environ, TSC_TEST_FAIL_ENGINE="1:3")
    with Server(exe, "--replicas", "2", env=env) as srv:
        results = [None] * 4

        def send(i):
            results[i] = srv.post("/v1/completions", json.dumps({"model": MODEL, "prompt": [10 + i] * 6, "max_tokens": 12, "temperature": 0, "ignore_eos": True}))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
        for x in threads:
            x.start()
        for x in threads:
            x.join(120)
        bodies = [json.loads(r[1]) for r in results]
        failed = [b for b in bodies if "error" in b]
        ok = [b for b in bodies if "choices" in b and b["choices"][0]["finish_reason"] == "length"]
        print("failed:", [b["error"]["message"] for b in failed])
        t.check(len(failed) >= 1 and len(ok) >= 1 and len(failed) + len(ok) == 4, f"the failed replica's requests end with an error, the others complete ({len(failed)} / {len(ok)})")
        t.check(all("engine 1 (CPU replica 1) failed" in b["error"]["message"] and b["error"]["code"] == "engine_failed" for b in failed),
                "the error names the failed engine (code engine_failed)")
        code, text, _ = srv.get("/health")
        h = json.loads(text)
        t.check(code == 200 and h["status"] == "degraded" and h["engines"][1]["status"] == "failed" and h["engines"][0]["status"] == "ok",
                f"/health: 200 degraded, engine 1 failed ({text})")
        cl = srv.client()
        devices = [device_of(cl, [7 + i] * 9, 4) for i in range(6)]
        t.check(devices == ["0"] * 6, f"new requests all go to the replica still up ({devices})")
        m = srv.wait_idle()
        t.check(srv.value(m, "tsc_engine_up", device="1") == 0 and srv.value(m, "tsc_engine_up", device="0") == 1, "tsc_engine_up: 0 for the failed engine")
        t.check(srv.value(m, "tsc_sequences_finished_total", device="1", reason="error") == len(failed), "its sequences counted as errors")
        t.check(srv.stop() == 0, "SIGTERM after a failure: exit status 0")
    with Server(exe, env=dict(os.environ, TSC_TEST_FAIL_ENGINE="0:1")) as srv:
        r1 = srv.post("/v1/completions", json.dumps({"model": MODEL, "prompt": [5] * 4, "max_tokens": 2}))
        r2 = srv.post("/v1/completions", json.dumps({"model": MODEL, "prompt": [5] * 4, "max_tokens": 2}))
        code, text, _ = srv.get("/health")
        t.check("error" in json.loads(r1[1]) and r2[0] == 503 and json.loads(r2[1])["error"]["code"] == "engine_failed",
                f"one engine failed: its request errors, the next gets 503 engine_failed ({r1[1][:120]} / {r2[:2]})")
        t.check(code == 503 and json.loads(text)["status"] == "failed", f"/health: 503 failed when no engine is left ({text})")
    import subprocess  # a malformed hook is refused at start
    p = subprocess.run([exe, "serve", "--port", "0"], env=dict(os.environ, TSC_TEST_FAIL_ENGINE="x"), capture_output=True, text=True, timeout=60)
    t.check(p.returncode != 0 and "TSC_TEST_FAIL_ENGINE=x is not INDEX:STEP" in p.stderr and "HINT" in p.stderr, f"a malformed hook: one-line error ({p.stderr.strip()[:160]})")


def shutdown(exe, t):
    # SIGTERM drains both replicas: requests running on either finish, the process exits 0.
    srv = Server(exe, "--replicas", "2", "--log-format", "off")
    results = []

    def run_one(i):
        try:
            chunks = list(srv.client().completions.create(model=MODEL, prompt=[100 + i] * 3, max_tokens=200, stream=True, temperature=0, extra_body={"ignore_eos": True}))
            results.append(chunks[-1].choices[0].finish_reason)
        except Exception as e:  # noqa: BLE001
            results.append(repr(e))

    threads = [threading.Thread(target=run_one, args=(i,)) for i in range(4)]
    for x in threads:
        x.start()
    deadline = time.time() + 30
    while time.time() < deadline:
        m = srv.metrics()
        # SIGTERM only once all 4 are accepted (a request sent after it is refused, as it should be) and both run.
        if (total(srv, m, "tsc_requests_in_flight") == 4 and all(srv.value(m, "tsc_sequences_running", device=d) >= 1 for d in ("0", "1"))):
            break
        time.sleep(0.02)
    srv.proc.send_signal(signal.SIGTERM)
    for x in threads:
        x.join(60)
    rc = srv.stop(timeout=30)
    t.check(rc == 0 and results == ["length"] * 4, f"SIGTERM: both replicas' running requests finish ({results}), exit status {rc}")


def cli(exe, t):
    import subprocess
    for args, want in ((["--replicas", "0"], "--replicas must be at least 1"), (["--devices", "0,1"], "--devices needs the CUDA target"),
                       (["--devices", "0,x"], "'x' is not a GPU index"), (["--replicas", "2", "--devices", "0"], "do not go together")):
        p = subprocess.run([exe, "serve", "--port", "0", *args], capture_output=True, text=True, timeout=60)
        t.check(p.returncode != 0 and want in p.stderr, f"serve {' '.join(args)}: {p.stderr.strip()[:150]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--count", type=int, default=60)
    a = ap.parse_args()
    exe = executables(a.build)["gpt2_server"]
    t = Checks()
    for part in (affinity, failure, shutdown, cli):
        print(f"--- {part.__name__}", flush=True)
        part(exe, t)
    print("--- invariance", flush=True)
    invariance(exe, t, a.count)
    t.done()


if __name__ == "__main__":
    main()
