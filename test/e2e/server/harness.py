"""Shared pieces of the server end-to-end tests: start a model_server on a free port, read its /metrics
with prometheus_client's parser, wait for idle, stop it with SIGTERM."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


class Server:
    """A running model_server; its stderr (start line and request log) is kept in self.log."""

    def __init__(self, exe, *args, env=None):
        self.exe = exe
        self.log = []
        # One OpenMP thread: the tiny fixtures gain nothing from more, and ctest runs tests side by side.
        env = dict(os.environ if env is None else env)
        env.setdefault("OMP_NUM_THREADS", "1")
        self.proc = subprocess.Popen([exe, "serve", "--port", "0", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, errors="replace", env=env)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("model_server did not start:\n" + "".join(self.log) + self.proc.stderr.read())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def client(self, api_key="unused", **kw):
        from openai import OpenAI
        return OpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0, timeout=kw.pop("timeout", 120), **kw)

    def async_client(self, api_key="unused", **kw):
        from openai import AsyncOpenAI
        return AsyncOpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0, timeout=kw.pop("timeout", 300), **kw)

    def get(self, path, headers=None):
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def post(self, path, body, headers=None):
        data = body if isinstance(body, bytes) else body.encode()
        req = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def metrics(self, headers=None):
        """{sample name: {frozenset(labels.items()): value}} from /metrics, via prometheus_client's parser."""
        status, text, _ = self.get("/metrics", headers)
        assert status == 200, (status, text)
        out = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                out.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
        return out

    def value(self, m, name, **labels):
        return m.get(name, {}).get(frozenset(labels.items()), 0.0)

    def wait_idle(self, timeout=30, headers=None):
        """Waits until no request is in flight and every KV page is free again; returns the metrics."""
        deadline = time.time() + timeout
        while True:
            m = self.metrics(headers)
            if (self.value(m, "tsc_requests_in_flight") == 0 and self.value(m, "tsc_kv_pages_used") == 0 and
                    self.value(m, "tsc_kv_pages_free") == self.value(m, "tsc_kv_pages_total")) or time.time() > deadline:
                return m
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Checks:
    """Collects failures so that one run reports them all."""

    def __init__(self):
        self.failed = []

    def check(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failed.append(what)
        return cond

    def done(self, server=None):
        if self.failed and server is not None:
            print("---- server log (tail) ----\n" + "".join(server.log[-40:]))
        print(f"{len(self.failed)} failure(s)" if self.failed else "all checks passed")
        sys.exit(1 if self.failed else 0)


def executables(build_dir):
    return {name: os.path.join(build_dir, name) for name in ("gpt2_server", "gpt2_sketch_server", "llama_chat_server")}
