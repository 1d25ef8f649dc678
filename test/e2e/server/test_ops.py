#!/usr/bin/env python3
"""Operations: /metrics counters match the requests sent (parsed by prometheus_client), 401 without the API
key, 503 + Retry-After when the waiting queue is full, cancellation when a client disconnects frees its
pages, SIGTERM lets running requests finish (or cancels them after the grace period) and exits 0, --help,
and serve as the default command."""
import argparse
import concurrent.futures
import json
import signal
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import openai

from harness import Checks, Server, executables

MODEL = "gpt2_tok_dynamo"


def body(**kw):
    return json.dumps({"model": MODEL, "prompt": "Once upon a time", "temperature": 0, "ignore_eos": True, **kw})


def metrics_match(exe, t):
    with Server(exe) as srv:
        cl = srv.client()
        usage = [cl.completions.create(model=MODEL, prompt=p, max_tokens=k, temperature=0).usage
                 for p, k in (("Hello", 3), ("The quick brown fox", 5), ("Once upon a time there was", 7))]
        streamed = list(cl.completions.create(model=MODEL, prompt="Hi there", max_tokens=4, stream=True, stream_options={"include_usage": True}))
        usage.append(streamed[-1].usage)
        for bad in ({"prompt": "x", "max_tokens": 0}, {"prompt": "x", "temperature": -1}):
            srv.post("/v1/completions", json.dumps(bad))
        srv.post("/v1/completions", json.dumps({"model": "other", "prompt": "x"}))
        srv.get("/v1/models")
        srv.get("/nope")
        m = srv.wait_idle()
        req = lambda route, status: srv.value(m, "tsc_requests_total", route=route, status=str(status))
        t.check(req("/v1/completions", 200) == 4, f"requests_total completions 200 == 4 ({req('/v1/completions', 200)})")
        t.check(req("/v1/completions", 400) == 2, "requests_total completions 400 == 2")
        t.check(req("/v1/completions", 404) == 1, "requests_total completions 404 == 1")
        t.check(req("/v1/models", 200) == 1 and req("other", 404) == 1, "requests_total models 200 == 1, other 404 == 1")
        t.check(srv.value(m, "tsc_generation_tokens_total") == sum(u.completion_tokens for u in usage) == 19, "generation tokens == Σ completion_tokens")
        t.check(srv.value(m, "tsc_prompt_tokens_total") == sum(u.prompt_tokens for u in usage), "prompt tokens == Σ prompt_tokens")
        t.check(srv.value(m, "tsc_time_to_first_token_seconds_count") == 4 and srv.value(m, "tsc_request_latency_seconds_count") == 4,
                "TTFT and latency histograms count the 4 requests")
        t.check(srv.value(m, "tsc_queue_time_seconds_count") == 4 and srv.value(m, "tsc_inter_token_latency_seconds_count") == 19 - 4,
                "queue-time count 4, inter-token count = tokens - first tokens")
        t.check(srv.value(m, "tsc_time_to_first_token_seconds_bucket", le="+Inf") == 4, "histogram +Inf bucket equals its count")
        t.check(srv.value(m, "tsc_sequences_finished_total", reason="length") == 4 and srv.value(m, "tsc_requests_finished_total") == 4, "finished by reason")
        t.check(srv.value(m, "tsc_kv_pages_used") == 0 and srv.value(m, "tsc_sequences_running") == 0 and srv.value(m, "tsc_sequences_waiting") == 0,
                "nothing running or held")
        t.check("tsc_step_seconds_count" not in m, "per-step timings only with --profile")
    with Server(exe, "--profile", "--log-format", "json") as srv:
        srv.client().completions.create(model=MODEL, prompt="Hello", max_tokens=3)
        m = srv.wait_idle()
        t.check(srv.value(m, "tsc_step_seconds_count", kind="decode") == 2 and srv.value(m, "tsc_sampling_seconds_count") == 3, "--profile adds step timings")
        logs = [json.loads(l) for l in srv.log if l.startswith("{")]
        t.check(any(l.get("path") == "/v1/completions" and l.get("completion_tokens") == 3 and l.get("status") == 200 for l in logs),
                "--log-format json writes one JSON line per request")


def api_key(exe, t):
    with Server(exe, "--api-key", "sekrit") as srv:
        auth = {"Authorization": "Bearer sekrit"}
        t.check(srv.get("/health")[0] == 200, "/health needs no key")
        for path in ("/v1/models", "/metrics"):
            code, text, headers = srv.get(path)
            t.check(code == 401 and json.loads(text)["error"]["code"] == "invalid_api_key", f"{path} without a key -> 401")
            t.check(srv.get(path, {"Authorization": "Bearer wrong"})[0] == 401, f"{path} with a wrong key -> 401")
            t.check(srv.get(path, auth)[0] == 200, f"{path} with the key -> 200")
        t.check(srv.post("/v1/completions", body(max_tokens=2))[0] == 401, "completions without a key -> 401")
        try:
            srv.client(api_key="wrong").completions.create(model=MODEL, prompt="hi", max_tokens=2)
            t.check(False, "openai client with a wrong key -> AuthenticationError")
        except openai.AuthenticationError:
            t.check(True, "openai client with a wrong key -> AuthenticationError")
        r = srv.client(api_key="sekrit").completions.create(model=MODEL, prompt="hi", max_tokens=2)
        t.check(r.usage.completion_tokens == 2, "openai client with the key is served")
        m = srv.metrics(auth)
        t.check(srv.value(m, "tsc_requests_total", route="/v1/models", status="401") == 2, "401s are counted")


def queue_full(exe, t):
    with Server(exe, "--max-batch", "1", "--max-queue", "1") as srv:
        start = threading.Barrier(12)

        def send(_):
            start.wait()  # all at once: one runs, one waits, the rest find the queue full
            return srv.post("/v1/completions", body(max_tokens=200))

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            results = list(pool.map(send, range(12)))
        codes = [c for c, _, _ in results]
        t.check(codes.count(200) >= 2 and codes.count(503) >= 1 and set(codes) <= {200, 503}, f"a full queue answers 503 ({codes})")
        busy = [(text, h) for c, text, h in results if c == 503]
        t.check(all(h.get("Retry-After") == "1" and json.loads(text)["error"]["code"] == "server_overloaded" for text, h in busy),
                "503 carries Retry-After and an error object")
        t.check(srv.post("/v1/completions", body(max_tokens=2))[0] == 200, "the server serves again once the queue drains")
        m = srv.wait_idle()
        t.check(srv.value(m, "tsc_kv_pages_used") == 0, "no pages held after the burst")


def disconnects(exe, t):
    with Server(exe) as srv:
        # Streaming: read the first events, then hang up.
        s = socket.create_connection(("127.0.0.1", srv.port))
        payload = body(max_tokens=240, stream=True).encode()
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
        got = b""
        while got.count(b"data:") < 3:
            got += s.recv(4096)
        s.close()
        # Not streaming: hang up while the request runs.
        s = socket.create_connection(("127.0.0.1", srv.port))
        payload = body(max_tokens=240).encode()
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
        time.sleep(0.05)
        s.close()
        m = srv.wait_idle(timeout=10)
        aborted = srv.value(m, "tsc_sequences_finished_total", reason="abort")
        t.check(aborted == 2, f"both disconnected requests were cancelled ({aborted:.0f} aborted)")
        t.check(srv.value(m, "tsc_generation_tokens_total") < 2 * 240, "they stopped before max_tokens")
        t.check(srv.value(m, "tsc_kv_pages_used") == 0 and srv.value(m, "tsc_kv_pages_free") == srv.value(m, "tsc_kv_pages_total"),
                "cancellation freed their pages")
        r = srv.client().completions.create(model=MODEL, prompt="still", max_tokens=2)
        t.check(r.usage.completion_tokens == 2, "the server keeps serving after disconnects")


def graceful(exe, t):
    # Running requests finish after SIGTERM; new ones are refused; exit status 0.
    srv = Server(exe)
    out = {}
    started = threading.Event()

    def run():
        chunks = []
        for c in srv.client().completions.create(model=MODEL, prompt="Once", max_tokens=240, stream=True, temperature=0, extra_body={"ignore_eos": True}):
            chunks.append(c)
            started.set()
        out["tokens"] = sum(1 for c in chunks if c.choices and c.choices[0].text)
        out["finish"] = chunks[-1].choices[0].finish_reason

    th = threading.Thread(target=run)
    th.start()
    started.wait(30)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.02)
    try:
        code = srv.post("/v1/completions", body(max_tokens=2))[0]
    except OSError:
        code = "refused"  # the listener is already closed: also a refusal
    th.join(60)
    rc = srv.stop(timeout=30)
    t.check(out.get("finish") == "length", f"a request running at SIGTERM finished ({out})")
    t.check(code in (503, "refused"), f"a request after SIGTERM is refused ({code})")
    t.check(rc == 0, f"SIGTERM: exit status {rc}")
    # Past the grace period, running requests end with finish_reason "abort" and a complete stream.
    srv = Server(exe, "--max-batch", "2", "--shutdown-grace", "0.3")
    results = []

    def run_one(i):
        try:
            chunks = list(srv.client().completions.create(model=MODEL, prompt=f"Story {i}", max_tokens=220, stream=True, extra_body={"ignore_eos": True}))
            results.append(chunks[-1].choices[0].finish_reason)
        except Exception as e:  # noqa: BLE001
            results.append(repr(e))

    threads = [threading.Thread(target=run_one, args=(i,)) for i in range(8)]
    for x in threads:
        x.start()
    # SIGTERM only once all 8 are accepted (2 running, 6 waiting): on a loaded machine the clients can take
    # longer than any fixed sleep to send, and a request sent after SIGTERM is refused, which is another check.
    deadline = time.time() + 30
    while time.time() < deadline:
        m = srv.metrics()
        if sum(v for name in ("tsc_sequences_running", "tsc_sequences_waiting") for v in m.get(name, {}).values()) >= 8:
            break
        time.sleep(0.02)
    time.sleep(0.1)
    t0 = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    for x in threads:
        x.join(60)
    rc = srv.stop(timeout=30)
    t.check(rc == 0 and time.time() - t0 < 15, f"SIGTERM with a short grace exits 0 promptly ({rc}, {time.time() - t0:.1f} s)")
    t.check("abort" in results and all(r in ("length", "abort") for r in results), f"streams end cleanly, cancelled ones with 'abort' ({results})")
    # SIGINT behaves the same.
    srv = Server(exe)
    t.check(srv.stop(signal.SIGINT) == 0, "SIGINT: exit status 0")


def cli(exe, t):
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    t.check(r.returncode == 0 and "serve" in r.stdout, "--help lists serve")
    r = subprocess.run([exe, "serve", "--help"], capture_output=True, text=True)
    t.check(r.returncode == 0 and all(f in r.stdout for f in ("--port", "--api-key", "--max-batch", "--kv-memory", "--log-format", "--profile")),
            "serve --help lists its flags")
    # Without a subcommand, flags go to serve.
    p = subprocess.Popen([exe, "--port", "0", "--log-format", "off"], stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    p.send_signal(signal.SIGTERM)
    rc = p.wait(30)
    t.check("serving" in line and rc == 0, f"model_server --port 0 serves ({line.strip()})")
    r = subprocess.run([exe, "serve", "--port", "1", "--host", "256.0.0.1"], capture_output=True, text=True)
    t.check(r.returncode != 0 and "HINT" in r.stderr, f"an unusable address is an error with a hint ({r.stderr.strip()[:120]})")
    # Selection ablations (CPU target) for every decode step: an unknown name is refused naming the flag; a known
    # one serves a budgeted request.
    r = subprocess.run([exe, "serve", "--select-score", "nope"], capture_output=True, text=True)
    t.check(r.returncode != 0 and "--select-score" in r.stderr and "gauss" in r.stderr, f"serve --select-score nope is refused ({r.stderr.strip()[:100]})")
    with Server(exe, "--log-format", "off", "--select-score", "gauss") as srv:
        st, body, _ = srv.post("/v1/completions", json.dumps({"prompt": [5] * 40, "max_tokens": 8, "temperature": 0,
                                                              "tsc": {"top_k_pages": 2}}))
        t.check(st == 200 and json.loads(body)["usage"]["completion_tokens"] == 8, f"serve --select-score gauss answers a budgeted request ({st})")


def loadgen(exe, t, script):
    with Server(exe, "--log-format", "off") as srv, tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "lg.json")
        r = subprocess.run([sys.executable, script, "--url", srv.url, "--requests", "24", "--concurrency", "8", "--prompt-len", "uniform:4:40",
                            "--max-tokens", "choice:4,8,16", "--json", out], capture_output=True, text=True)
        print(r.stdout)
        s = json.load(open(out)) if os.path.exists(out) else {}
        t.check(r.returncode == 0 and s.get("completed") == 24 and s["ttft_ms"]["p99"] >= s["ttft_ms"]["p50"] > 0 and s["itl_ms"]["p50"] > 0,
                "tools/loadgen.py reports throughput and TTFT/ITL/end-to-end percentiles")
        m = srv.wait_idle()
        t.check(srv.value(m, "tsc_generation_tokens_total") == s.get("output_tokens"), "loadgen's token count matches /metrics")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--loadgen", help="tools/loadgen.py, to smoke-test it too")
    a = ap.parse_args()
    exe = executables(a.build)["gpt2_server"]
    t = Checks()
    for part in (metrics_match, api_key, queue_full, disconnects, graceful, cli):
        print(f"--- {part.__name__}", flush=True)
        part(exe, t)
    if a.loadgen:
        print("--- loadgen", flush=True)
        loadgen(exe, t, a.loadgen)
    t.done()


if __name__ == "__main__":
    main()
