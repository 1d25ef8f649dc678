"""Shared pieces of the accuracy evaluation (docs/ACCURACY.md): the documents, the tokenizer, building the
model_server executables, running `score`, and per-position losses from logits."""
import hashlib
import json
import os
import subprocess
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_DIR = os.path.join(ROOT, "models", "cache", "smollm2-135m-instruct")

# Long real documents shipped by Debian 12 packages (paths, packages and sha256 as found on the dev
# machine; doc_ids refuses a file whose hash differs, so numbers are only compared on the same text).
# Each document is the first N tokens of the file (HF tokenizer, no special tokens), after one
# <|endoftext|> (id 0), the separator SmolLM2 saw between documents in training.
DOCUMENTS = [
    {"name": "gpl3", "kind": "licence (legal prose)", "package": "base-files",
     "path": "/usr/share/common-licenses/GPL-3",
     "sha256": "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"},
    {"name": "vim_usr41", "kind": "manual (prose + Vim script)", "package": "vim-runtime",
     "path": "/usr/share/vim/vim90/doc/usr_41.txt",
     "sha256": "df4b3ff8ff8e6bc52e0e8dd3c255f8b0308f54f6e93b9429d857bd10ecb494b8"},
    {"name": "node_stream", "kind": "API docs (Markdown + JavaScript)", "package": "nodejs 20 (NodeSource build)",
     "path": "/usr/share/doc/nodejs/api/stream.md",
     "sha256": "695460cc5af6edef80f154263a4d0711f722493517cf978a3003d0824709c36c"},
    {"name": "argparse", "kind": "source code (Python)", "package": "libpython3.11-minimal",
     "path": "/usr/lib/python3.11/argparse.py",
     "sha256": "9cad2261a804a55d7aca32790c999cb11bb546ce13a1c93e584ae57d5f8ea2a1"},
    {"name": "sqlite3_h", "kind": "source code (C header, long comments)", "package": "libsqlite3-dev",
     "path": "/usr/include/sqlite3.h",
     "sha256": "9222d6a9e53903389cc09b103b55f786074b5cc8cb0f52a494d54eddf27559ef"},
]
DOC_BY_NAME = {d["name"]: d for d in DOCUMENTS}
ENDOFTEXT = 0


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tokenizer():
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))


def doc_ids(name, length, tok=None):
    """[<|endoftext|>] + the first length-1 tokens of the document; checks the file's sha256."""
    d = DOC_BY_NAME[name]
    got = sha256_file(d["path"])
    if d["sha256"] and got != d["sha256"]:
        raise SystemExit(f"{d['path']}: sha256 {got} differs from {d['sha256']} (the numbers in docs/ACCURACY.md "
                         "are for that file); numbers on other text are not comparable")
    tok = tok or tokenizer()
    with open(d["path"], encoding="utf-8") as f:
        ids = tok.encode(f.read(), add_special_tokens=False).ids
    if len(ids) < length - 1:
        raise SystemExit(f"{name}: {len(ids)} tokens, fewer than the {length - 1} asked for")
    return np.array([ENDOFTEXT] + ids[: length - 1], dtype=np.int64), got


def exe_name(page, topk, dense_layers, dtype, page_score="bound"):
    return f"ms_p{page}_k{topk}_d{dense_layers}_{dtype}" + ("" if page_score == "bound" else "_" + page_score)


def dtype_flags(dtype):
    """The weight format a cell names -> tsc flags: f32 | f16 | bf16 (--dtype), or a compile-time quantization of the
    projections, the rest in f32: int8 (--weight-dtype int8), int4g<G> (--weight-dtype int4 --weight-group G)."""
    if dtype == "int8":
        return ["--dtype", "f32", "--weight-dtype", "int8"]
    if dtype.startswith("int4g"):
        return ["--dtype", "f32", "--weight-dtype", "int4", "--weight-group", dtype[len("int4g"):]]
    return ["--dtype", dtype]


def build_exe(tsc, work, page, topk, dense_layers, dtype, max_seq_len=8192, page_score="bound"):
    """Compile SmolLM2 with tsc (CPU target, `--page-score page_score`) into work/bin/; rebuilt when tsc, the runtime libraries it links or
    the CPU kernel templates it compiles change (a stale executable would measure old code)."""
    os.makedirs(os.path.join(work, "bin"), exist_ok=True)
    exe = os.path.join(work, "bin", exe_name(page, topk, dense_layers, dtype, page_score))
    # tsc and the runtime libraries it links into the executable (build/lib, beside bin/).
    lib = os.environ.get("TSC_LIB_DIR") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(tsc))), "lib")
    parts = [tsc] + sorted(os.path.join(lib, f) for f in os.listdir(lib) if f.endswith(".a")) if os.path.isdir(lib) else [tsc]
    # The CPU kernels are compiled by tsc from the templates at build time (templates/cpu of TSC_SOURCE_DIR or
    # this checkout): a template change alone changes the executable too.
    tdir = os.path.join(os.environ.get("TSC_SOURCE_DIR") or ROOT, "templates", "cpu")
    if os.path.isdir(tdir):
        parts += sorted(os.path.join(tdir, f) for f in os.listdir(tdir) if os.path.isfile(os.path.join(tdir, f)))
    stamp, tsc_sha = exe + ".tsc-sha256", hashlib.sha256("".join(sha256_file(f) for f in parts).encode()).hexdigest()
    if not os.path.exists(exe) or not os.path.exists(stamp) or open(stamp).read() != tsc_sha:
        subprocess.run([tsc, os.path.join(MODEL_DIR, "model.onnx"), "-o", exe + ".tmp", "--target", "cpu",
                        "--page-size", str(page), "--top-k-pages", str(topk), "--dense-layers", str(dense_layers),
                        *dtype_flags(dtype), "--max-seq-len", str(max_seq_len), "--page-score", page_score], check=True)
        os.replace(exe + ".tmp", exe)
        with open(stamp, "w") as f:
            f.write(tsc_sha)
    return exe


def run_score(exe, ids_path, out_path, budget_pages=None, select_reduce="sum", no_sink=False, threads=None, prefill=0,
              select_score="bound", select_every=1):
    """`model_server score --mode decode`; budget_pages None = --dense; prefill > 0: the first `prefill` tokens
    in one dense prefill pass (a served prompt). Returns (seconds, stderr, command)."""
    cmd = [exe, "score", "--input-ids", ids_path, "--out", out_path, "--mode", "decode"]
    if prefill:
        cmd += ["--prefill-tokens", str(prefill)]
    cmd += ["--dense"] if budget_pages is None else ["--top-k-pages", str(budget_pages)]
    if select_reduce != "sum":
        cmd += ["--select-reduce", select_reduce]
    if no_sink:
        cmd += ["--no-sink"]
    if select_score != "bound":
        cmd += ["--select-score", select_score]
    if select_every != 1:
        cmd += ["--select-every", str(select_every)]
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    t0 = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return time.time() - t0, p.stderr.strip(), cmd


def log_softmax_rows(x):
    """float64 log-softmax over the last axis."""
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    z = x - m
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def position_losses(logits_path, ids, ref_logits_path=None, chunk=256):
    """Per predicted position t (0..S-2, target ids[:, t+1]): negative log-likelihood (nats, float64), and
    against reference logits (dense): KL(ref || this) and whether the argmax agrees.
    Logits are read memory-mapped in chunks of positions (a [4, 8192, 49152] file is 6.4 GB)."""
    lg = np.load(logits_path, mmap_mode="r")
    ref = np.load(ref_logits_path, mmap_mode="r") if ref_logits_path else None
    B, S, _ = lg.shape
    assert ids.shape == (B, S), (ids.shape, lg.shape)
    nll = np.zeros((B, S - 1))
    kl = np.zeros((B, S - 1)) if ref is not None else None
    agree = np.zeros((B, S - 1), dtype=bool) if ref is not None else None
    for b in range(B):
        for s0 in range(0, S - 1, chunk):
            s1 = min(S - 1, s0 + chunk)
            lp = log_softmax_rows(np.asarray(lg[b, s0:s1]))
            nll[b, s0:s1] = -lp[np.arange(s1 - s0), ids[b, s0 + 1:s1 + 1]]
            if ref is not None:
                r = np.asarray(ref[b, s0:s1])
                lr = log_softmax_rows(r)
                kl[b, s0:s1] = (np.exp(lr) * (lr - lp)).sum(-1)
                agree[b, s0:s1] = r.argmax(-1) == np.asarray(lg[b, s0:s1]).argmax(-1)
    return nll, kl, agree


def save_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"
