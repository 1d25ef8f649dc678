#!/usr/bin/env python3
"""HTTP fuzz run: mutated JSON bodies (wrong types, huge and odd values, truncation, byte flips, unknown
fields), malformed HTTP (bad request lines, headers, lengths, chunking, pipelining, early hang-ups) and
abandoned streams, from several threads. The server must answer every request with 200 or a 4xx/503 that
carries an OpenAI-style error object, never crash (run it on a TSC_SANITIZE build for ASan/UBSan), keep
serving, and hold no KV page afterwards."""
import argparse
import concurrent.futures
import json
import random
import socket
import time

from harness import Checks, Server, executables

BASES = [
    ("/v1/completions", {"model": "gpt2_tok_dynamo", "prompt": "Hello there", "max_tokens": 4, "temperature": 0.7, "top_p": 0.9, "top_k": 20,
                         "min_p": 0.05, "seed": 3, "stop": ["\n", "zz"], "n": 2, "presence_penalty": 0.5, "frequency_penalty": 0.2,
                         "logprobs": 2, "echo": True, "stream": False, "user": "u", "tsc": {"top_k_pages": 2}}),
    ("/v1/completions", {"prompt": [[1, 2, 3], "text"], "max_tokens": 3, "stream": True, "stream_options": {"include_usage": True}}),
    ("/v1/chat/completions", {"model": "gpt2_tok_dynamo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3,
                              "logprobs": True, "top_logprobs": 2}),
]
ODD = [None, True, False, 0, -1, 1, 2, 3.5, -1e308, 1e308, 2 ** 63, -(2 ** 63) - 1, 2 ** 64 + 5, "", "x" * 5000, "\u0000", "\ud7ff\ue000",
       [], [[]], [None], [1] * 300, {}, {"a": {"b": [1, {"c": None}]}}, "€🙂", [2 ** 31, -5], [[-1]], ["a"] * 20]


def mutate_value(rng, v, depth=0):
    r = rng.random()
    if r < 0.5 or depth > 3:
        return rng.choice(ODD)
    if isinstance(v, dict) and v:
        v = dict(v)
        k = rng.choice(list(v))
        v[k] = mutate_value(rng, v[k], depth + 1)
        return v
    if isinstance(v, list) and v:
        v = list(v)
        i = rng.randrange(len(v))
        v[i] = mutate_value(rng, v[i], depth + 1)
        return v
    return rng.choice(ODD)


def mutated_body(rng):
    path, base = rng.choice(BASES)
    body = json.loads(json.dumps(base))
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.5 and body:
            k = rng.choice(list(body))
            body[k] = mutate_value(rng, body[k])
        elif op < 0.7 and body:
            del body[rng.choice(list(body))]
        else:
            body[rng.choice(["frob", "n", "max_tokens", "stream", "tsc", "messages", "prompt"])] = rng.choice(ODD)
    if isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 8:
        body["max_tokens"] = 8  # keep the run short: the point is parsing, not generating
    if isinstance(body.get("n"), int) and body["n"] > 4:
        body["n"] = rng.choice([body["n"], 4])
    raw = json.dumps(body).encode()
    op = rng.random()
    if op < 0.1:
        raw = raw[: rng.randrange(len(raw))]
    elif op < 0.2:
        b = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        raw = bytes(b)
    elif op < 0.25:
        raw = raw.replace(b'"', b"'", 1)
    return path, raw


def raw_http(port, data, read=True, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def request(path, raw):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {len(raw)}\r\n\r\n").encode() + raw


def malformed(rng, port):
    body = json.dumps({"prompt": "hi", "max_tokens": 2}).encode()
    cases = [
        b"GARBAGE\r\n\r\n",
        b"POST /v1/completions HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
        b"POST /v1/completions HTTP/1.1\r\nContent-Length: -5\r\nConnection: close\r\n\r\n{}",
        b"POST /v1/completions HTTP/1.1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{}",
        b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{\"pro\r\nZZ\r\n",
        b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX: " + b"b" * 20000 + b"\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\n\r\nGET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"POST /v1/completions HTTP/1.1\r\nAuthorization: Bearer \xff\xfe\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        b"DELETE /v1/completions HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.0\r\nContent-Length: 2\r\n\r\n[]",
        b"\x00\x01\x02\r\n\r\n",
    ]
    data = rng.choice(cases)
    # Some of these leave the server waiting for bytes that never come (until its read timeout): do not wait.
    return raw_http(port, data, read=rng.random() < 0.8, timeout=0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    exe = executables(a.build)["gpt2_server"]
    t = Checks()
    srv = Server(exe, "--log-format", "off", "--max-body", "1M")
    bad = []
    counts = {}

    def worker(seed):
        rng = random.Random(seed)
        end = time.time() + a.seconds
        n = 0
        while time.time() < end:
            n += 1
            r = rng.random()
            try:
                if r < 0.7:
                    path, raw = mutated_body(rng)
                    resp = raw_http(srv.port, request(path, raw))
                    head, _, payload = resp.partition(b"\r\n\r\n")
                    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
                    counts[status] = counts.get(status, 0) + 1
                    if status not in (200, 400, 404, 413, 503):
                        bad.append((status, raw[:200], resp[:300]))
                    elif status != 200 and b'"error"' not in payload:
                        bad.append(("no error object", raw[:200], resp[:300]))
                elif r < 0.85:
                    malformed(rng, srv.port)
                else:
                    # An abandoned stream.
                    raw = json.dumps({"prompt": "abandon", "max_tokens": 64, "stream": rng.random() < 0.5}).encode()
                    raw_http(srv.port, request("/v1/completions", raw), read=False)
            except (ConnectionError, socket.timeout) as e:
                if srv.proc.poll() is not None:
                    bad.append(("server died", repr(e), b""))
                    return n
        return n

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        total = sum(pool.map(worker, [a.seed * 100 + i for i in range(6)]))
    print(f"{total} requests, statuses {dict(sorted(counts.items()))}")
    for b in bad[:10]:
        print("  ", b)
    t.check(srv.proc.poll() is None, "the server survived the fuzz run")
    t.check(not bad, f"every answer is 200 or an error status with an error object ({len(bad)} not)")
    t.check(srv.get("/health")[0] == 200, "/health still answers")
    m = srv.wait_idle(timeout=30)
    t.check(srv.value(m, "tsc_kv_pages_used") == 0 and srv.value(m, "tsc_requests_in_flight") == 0, "no KV page held afterwards")
    r = srv.client().completions.create(model="gpt2_tok_dynamo", prompt="after the storm", max_tokens=3)
    t.check(r.usage.completion_tokens == 3, "the server still generates")
    rc = srv.stop()
    t.check(rc == 0, f"SIGTERM: exit status {rc}")
    t.done(srv)


if __name__ == "__main__":
    main()
