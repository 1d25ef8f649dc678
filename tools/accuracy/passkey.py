#!/usr/bin/env python3
"""Passkey retrieval with SmolLM2-135M-Instruct: a 5-digit number hidden at a depth of 0-100% of filler text,
asked for at the end, in the model's ChatML chat template (rendered from tokenizer_config.json's
chat_template with Jinja2 configured as transformers does), greedy answer through `model_server serve`.

As in deployment (and in Quest's evaluation), the prompt is prefilled densely and the answer tokens are
decoded with page selection: each answer token attends to the prompt's KV pages through the budget. The
first answer token comes from the prefill's logits (dense); every later token is a decode step. A prompt is
run once densely, then at every budget with the prompt's full pages served from the prefix cache (the
cache holds prefill pages only, so every budget sees the same prompt KV). Correct = the generated text
contains the key. Results: WORK/results/passkey/<exe>.jsonl, one line per (context, depth, seed, budget);
finished lines are skipped when rerun.

    python3 tools/accuracy/passkey.py --work /tmp/acc --contexts 1024,2048,4096,8192 --depths 0,25,50,75,100 \
        --seeds 3 --budgets 128,256,512,1024,2048,dense --page 16
Setup: bash tools/demo.sh (build/bin/tsc and the SmolLM2 model in models/cache).
"""
import argparse
import concurrent.futures as cf
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

INTRO = ("There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
         "I will quiz you about the important information there.")
FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
NEEDLE = " The pass key is {key}. Remember it. {key} is the pass key."
QUESTION = "\n\nWhat is the pass key?"
GEN_TOKENS = 24


def chat_template():
    """The model's chat template in a Jinja2 environment configured as transformers' apply_chat_template."""
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    with open(os.path.join(common.MODEL_DIR, "tokenizer_config.json")) as f:
        cfg = json.load(f)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    env.globals["raise_exception"] = raise_exception
    tmpl = env.from_string(cfg["chat_template"])
    special = {k: cfg.get(k) for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    return lambda messages: tmpl.render(messages=messages, add_generation_prompt=True, **special)


def make_prompt(render, tok, context, depth, key):
    """Token ids of the chat prompt with as many filler sentences as fit in context - GEN_TOKENS tokens."""
    target = context - GEN_TOKENS

    def build(n):
        before = round(n * depth / 100)
        content = INTRO + FILLER * before + NEEDLE.format(key=key) + FILLER * (n - before) + QUESTION
        return tok.encode(render([{"role": "user", "content": content}]), add_special_tokens=False).ids

    lo, hi = 0, 4 * context // 20 + 8  # a filler unit is ~20 tokens
    while lo < hi:  # largest n whose prompt fits
        mid = (lo + hi + 1) // 2
        if len(build(mid)) <= target:
            lo = mid
        else:
            hi = mid - 1
    return build(lo)


class Server:
    def __init__(self, exe, threads, max_batch, log, select_score="bound"):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        self.log = open(log, "a")
        self.p = subprocess.Popen([exe, "serve", "--port", "0", "--max-batch", str(max_batch), "--kv-memory", "3G",
                                   "--log-format", "off", "--select-score", select_score], env=env, stdout=self.log, stderr=subprocess.PIPE, text=True)
        line = ""
        while "serving" not in line:
            line = self.p.stderr.readline()
            if not line:
                raise RuntimeError(f"{exe} serve exited ({self.p.wait()})")
            self.log.write(line)
        self.port = int(re.search(r":(\d+) \(", line).group(1))
        self.model = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/models").read())["data"][0]["id"]
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.p.stderr:
            self.log.write(line)

    def complete(self, ids, budget_pages):
        body = {"model": self.model,
                "prompt": ids, "max_tokens": GEN_TOKENS, "temperature": 0, "return_token_ids": True,
                "tsc": {"dense": True} if budget_pages is None else {"top_k_pages": budget_pages}}
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        r = json.loads(urllib.request.urlopen(req, timeout=3600).read())
        c = r["choices"][0]
        return c["text"], c.get("token_ids")

    def stop(self):
        self.p.terminate()
        self.p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tsc", default=os.path.join(common.ROOT, "build", "bin", "tsc"))
    ap.add_argument("--contexts", default="1024,2048,4096,8192")
    ap.add_argument("--depths", default="0,25,50,75,100")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budgets", default="128,256,512,1024,2048,dense", help="tokens, or 'dense'")
    ap.add_argument("--page", type=int, default=16)
    ap.add_argument("--cap", type=int, default=2048, help="compiled --top-k-pages = cap / page (tokens)")
    ap.add_argument("--dense-layers", type=int, default=2)
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="prompts in flight at once")
    ap.add_argument("--page-score", default="bound", choices=["bound", "sketch"],
                    help="the build's page score (tsc --page-score): the key bound or the key sketch")
    ap.add_argument("--select-score", default="bound",
                    help="the server's page score for every decode step (serve --select-score; CPU ablations, e.g. gauss)")
    a = ap.parse_args()

    work = os.path.abspath(a.work)
    os.makedirs(os.path.join(work, "results", "passkey"), exist_ok=True)
    exe = common.build_exe(a.tsc, work, a.page, a.cap // a.page, a.dense_layers, a.dtype, page_score=a.page_score)
    tag = "" if a.select_score == "bound" else "_" + a.select_score
    out = os.path.join(work, "results", "passkey", os.path.basename(exe) + tag + ".jsonl")
    done = set()
    if os.path.exists(out):
        with open(out) as f:
            for line in f:
                r = json.loads(line)
                done.add((r["context"], r["depth"], r["seed"], r["budget_tokens"]))
    budgets = [None if b == "dense" else int(b) for b in a.budgets.split(",")]
    budgets = [b for b in budgets if b is None] + [b for b in budgets if b is not None]  # dense first (fills the cache)
    render, tok = chat_template(), common.tokenizer()
    jobs = []
    for context in map(int, a.contexts.split(",")):
        for seed in range(a.seeds):
            for depth in map(int, a.depths.split(",")):
                key = str(random.Random(f"passkey-{context}-{depth}-{seed}").randint(10000, 99999))
                todo = [b for b in budgets if (context, depth, seed, b) not in done]
                if todo:
                    jobs.append((context, depth, seed, key, todo))
    print(f"{len(jobs)} prompts to run on {os.path.basename(exe)}", flush=True)
    if not jobs:
        return
    srv = Server(exe, a.threads, max_batch=16, log=os.path.join(work, "results", "passkey", "serve.log"), select_score=a.select_score)
    lock = threading.Lock()

    def run(job):
        context, depth, seed, key, todo = job
        ids = make_prompt(render, tok, context, depth, key)

        def one(b):
            t0 = time.time()
            text, gen = srv.complete(ids, None if b is None else b // a.page)
            rec = {"context": context, "depth": depth, "seed": seed, "key": key, "budget_tokens": b,
                   "budget_pages": None if b is None else b // a.page, "prompt_tokens": len(ids), "correct": key in text,
                   "text": text, "token_ids": gen, "seconds": round(time.time() - t0, 2), "exe": os.path.basename(exe),
                   "select_score": a.select_score, "page_score": a.page_score}
            with lock:
                with open(out, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            return rec

        recs = []
        first, rest = todo[:1], todo[1:]
        recs += [one(b) for b in first]  # prefill once (fills the prefix cache)
        with cf.ThreadPoolExecutor(len(rest) or 1) as ex:
            recs += list(ex.map(one, rest))
        line = " ".join(f"{'dense' if r['budget_tokens'] is None else r['budget_tokens']}:{'ok' if r['correct'] else 'NO'}" for r in recs)
        print(f"ctx {context} depth {depth} seed {seed} key {key} ({len(ids)} tok): {line} | {recs[0]['text'][:40]!r}", flush=True)

    try:
        with cf.ThreadPoolExecutor(a.workers) as ex:
            list(ex.map(run, jobs))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
