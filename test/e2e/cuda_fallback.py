#!/usr/bin/env python3
"""A CUDA-target executable carries the CPU kernels too and runs on them where no GPU is usable.

tsc builds the fixture twice: --target cuda (fp16 weights on the GPU) and --target cpu --dtype f16 (the same
fp16 weights). On the CUDA build's CPU path (TSC_DEVICE=cpu, and without it where this machine has no usable
GPU), `score` in prefill and decode mode and greedy `generate` must give exactly what the CPU build gives, the
fallback must be announced once on stderr, and `info` must list both kernel sets. Where a GPU is usable (the
GPU machine), the same executable must run on it without a word, and tsc's default target must be CUDA. TSC_DEVICE=cuda without a
GPU, and a TSC_DEVICE that names nothing, must be refused with one line naming the culprit.
Exits 77 (skipped) where tsc cannot build the CUDA target (no nvcc)."""
import os
import subprocess
import sys

import numpy as np

from fixture_exe import build_cpu, parse_args

SKIP = 77


def run(exe, *args, device=None, check=True):
    env = dict(os.environ)
    env.pop("TSC_DEVICE", None)
    if device:
        env["TSC_DEVICE"] = device
    p = subprocess.run([exe, *args], capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        sys.exit(f"{os.path.basename(exe)} {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def main():
    a = parse_args()
    cuda_exe = os.path.join(a.workdir, "model_server_cuda")
    env = dict(os.environ, TSC_CUDA_ARCHS=os.environ.get("TSC_CUDA_ARCHS", "90"))  # one architecture: a faster build
    p = subprocess.run([a.tsc, os.path.join(a.fixture, "model.onnx"), "-o", cuda_exe, "--target", "cuda"], capture_output=True, text=True, env=env)
    if p.returncode != 0 and "needs nvcc" in p.stderr:
        print("skipped: no nvcc here, so no CUDA build to test")
        sys.exit(SKIP)
    if p.returncode != 0:
        sys.exit(f"tsc --target cuda failed: {p.stderr.strip()}")
    cpu_exe = build_cpu(a, "--dtype", "f16", name="model_server_cpu_f16")
    ok = True

    def expect(what, cond, detail=""):
        nonlocal ok
        print(f"{what}: {'ok' if cond else 'FAIL ' + detail}")
        ok &= bool(cond)

    info = run(cuda_exe, "info").stdout
    expect("info lists the CUDA and CPU kernel sets", "  cuda: " in info and "  cpu: fallback when no GPU is usable" in info, info[-600:])
    gpu_usable = "  cuda: usable" in info

    ids = os.path.join(a.fixture, "input_ids.npy")
    devices = ["cpu"] + ([] if gpu_usable else [None])  # None: the automatic fallback, where no GPU is usable
    for device in devices:
        tag = f"TSC_DEVICE={device}" if device else "no GPU, automatic"
        for mode, extra in (("prefill", []), ("decode", ["--dense"]), ("decode", [])):
            outs = []
            for exe in (cuda_exe, cpu_exe):
                out = os.path.join(a.workdir, f"{os.path.basename(exe)}_{mode}{''.join(extra)}.npy")
                r = run(exe, "score", "--input-ids", ids, "--out", out, "--mode", mode, *extra, device=device if exe == cuda_exe else None)
                if exe == cuda_exe:
                    n = r.stderr.count("running on the CPU kernels this executable also carries")
                    expect(f"{tag} {mode} {' '.join(extra)}: fallback announced once", n == 1, repr(r.stderr))
                outs.append(np.load(out))
            expect(f"{tag} {mode} {' '.join(extra)}: logits equal the --target cpu --dtype f16 build's", np.array_equal(outs[0], outs[1]),
                   f"max |diff| {np.abs(outs[0] - outs[1]).max()}")
        prompt = ",".join(str(int(t)) for t in np.load(ids)[0][:6])
        gens = [run(exe, "generate", "--prompt-ids", prompt, "-n", "8", "--temperature", "0", device=device if exe == cuda_exe else None).stdout for exe in (cuda_exe, cpu_exe)]
        expect(f"{tag} generate: same greedy tokens", gens[0] == gens[1] and gens[0].strip(), repr(gens))

    if gpu_usable:  # the same executable on a GPU machine: the GPU, silently; and tsc's default target is CUDA
        r = run(cuda_exe, "score", "--input-ids", ids, "--out", os.path.join(a.workdir, "gpu.npy"), "--mode", "prefill")
        expect("with a usable GPU: no fallback", "CPU kernels" not in r.stderr, r.stderr)
        t = subprocess.run([a.tsc, os.path.join(a.fixture, "model.onnx"), "--emit=plan"], capture_output=True, text=True, env=env)
        expect("with a usable GPU: tsc's default target is cuda", "target: cuda" in t.stdout, t.stdout + t.stderr)
    bad = run(cuda_exe, "score", "--input-ids", ids, "--out", os.devnull, device="gpu0", check=False)
    expect("TSC_DEVICE=gpu0 refused naming the value", bad.returncode != 0 and "TSC_DEVICE=gpu0 is not a device choice" in bad.stderr, bad.stderr)
    if not gpu_usable:
        bad = run(cuda_exe, "score", "--input-ids", ids, "--out", os.devnull, device="cuda", check=False)
        expect("TSC_DEVICE=cuda without a GPU refused", bad.returncode != 0 and "TSC_DEVICE=cuda, but no GPU is usable" in bad.stderr, bad.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
