#!/usr/bin/env python3
"""Two model_servers on loopback behind nginx, configured by deploy/nginx-tsc.conf (docs/DEPLOY.md): tools/loadgen.py
through nginx completes every request and both backends serve (each one's /metrics), and SIGTERM of one backend during
the load loses no request (its running ones finish, new ones go to the other through proxy_next_upstream). nginx runs
unprivileged in the foreground with a generated main config in a temporary folder. Exits 77 (ctest: skipped) when
nginx is not installed; tools/install_deps.sh installs it."""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import Checks, Server, executables


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_nginx():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


class Nginx:
    def __init__(self, exe, site_conf, backends, d):
        self.port = free_port()
        site = open(site_conf).read()
        servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+", site, re.M)
        assert len(servers) == 2, "deploy/nginx-tsc.conf should name two backends"
        for old, b in zip(servers, backends):
            site = site.replace(old, old[: old.index("server")] + f"server 127.0.0.1:{b}", 1)
        site = re.sub(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{self.port};", site)
        temp = "\n".join(f"    {k}_temp_path {d}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"worker_processes 1;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\nevents {{ worker_connections 1024; }}\n"
                    f"http {{\n    log_format up '$status $upstream_addr $upstream_status';\n    access_log {d}/access.log up;\n{temp}\n{site}\n}}\n")
        self.log = os.path.join(d, "error.log")
        self.proc = subprocess.Popen([exe, "-p", d, "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError("nginx did not start: " + self.proc.stderr.read() if self.proc.poll() is not None else open(self.log).read())

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the open requests
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def loadgen(script, url, n, out, extra=()):
    return subprocess.Popen([sys.executable, script, "--url", url, "--requests", str(n), "--concurrency", "8", "--prompt-len", "uniform:4:40",
                             "--max-tokens", "choice:8,16,32", "--json", out, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(srv):
    return srv.value(srv.metrics(), "tsc_requests_finished_total")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--conf", required=True, help="deploy/nginx-tsc.conf")
    a = ap.parse_args()
    nginx = find_nginx()
    if not nginx:
        print("SKIP: nginx is not installed (bash tools/install_deps.sh installs Debian's nginx)")
        sys.exit(77)
    exe = executables(a.build)["gpt2_server"]
    t = Checks()
    with tempfile.TemporaryDirectory() as d, Server(exe, "--log-format", "off") as b1, Server(exe, "--log-format", "off", "--shutdown-grace", "30") as b2:
        os.chmod(d, 0o755)  # run as root, nginx's workers are 'nobody' and need its temp folders
        ng = Nginx(nginx, a.conf, [b1.port, b2.port], d)
        try:
            out = os.path.join(d, "lg1.json")
            p = loadgen(a.loadgen, ng.url, 40, out)
            print(p.communicate(timeout=600)[0])
            s = json.load(open(out)) if os.path.exists(out) else {}
            t.check(p.returncode == 0 and s.get("completed") == 40 and s.get("failed") == 0, f"loadgen through nginx: 40/40 complete ({s.get('errors')})")
            n1, n2 = finished(b1), finished(b2)
            t.check(n1 > 0 and n2 > 0 and n1 + n2 == 40, f"both backends served ({n1:.0f} + {n2:.0f})")

            # SIGTERM backend 2 while the load runs: nothing accepted is lost.
            out = os.path.join(d, "lg2.json")
            before1 = finished(b1)
            p = loadgen(a.loadgen, ng.url, 60, out, ("--seed", "1"))
            deadline = time.time() + 60
            while time.time() < deadline and b2.value(b2.metrics(), "tsc_requests_in_flight") < 2:
                time.sleep(0.01)
            in_flight = b2.value(b2.metrics(), "tsc_requests_in_flight")
            b2.proc.send_signal(signal.SIGTERM)
            print(p.communicate(timeout=600)[0])
            rc = b2.stop(timeout=60)
            s = json.load(open(out)) if os.path.exists(out) else {}
            t.check(in_flight >= 2, f"backend 2 had {in_flight:.0f} requests in flight at SIGTERM")
            t.check(p.returncode == 0 and s.get("completed") == 60 and s.get("failed") == 0, f"SIGTERM of one backend during load: 60/60 complete ({s.get('errors')})")
            t.check(rc == 0, f"the drained backend exited 0 ({rc})")
            logs = "".join(b2.log)
            t.check("not taking new requests" in logs, "backend 2 drained (its log)")
            t.check(finished(b1) > before1, f"backend 1 kept serving ({finished(b1) - before1:.0f} requests during the drain run)")
            retried = [l for l in open(os.path.join(d, "access.log")) if "," in l.split(" ", 2)[-1]]
            print(f"requests nginx passed to the next backend: {len(retried)}", *retried[:5], sep="\n  ")
            status = urllib.request.urlopen(ng.url + "/health", timeout=5).status
            t.check(status == 200, "nginx still answers /health from the backend left")
        finally:
            ng.stop()
            print("---- nginx error.log ----\n" + open(ng.log).read()[-2000:])
    t.done()


if __name__ == "__main__":
    main()
