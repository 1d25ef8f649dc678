"""Shared setup of the CPU-target end-to-end scripts (score_vs_ort, selection_budget, selection_replay,
prefill_chunks, bench_packing, accuracy/selection_accuracy): their command line, the model_server tsc builds
from a fixture, and `score` runs of it."""
import argparse
import os
import subprocess

import numpy as np


def parse_args(description=None, add_args=None):
    """--tsc, --fixture (folder with model.onnx, config.json, input_ids.npy, logits.npy) and --workdir (created),
    plus what add_args(parser) adds."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--tsc", required=True)
    ap.add_argument("--fixture", required=True, help="folder with model.onnx, input_ids.npy, logits.npy")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--model", help="what to pass tsc instead of the fixture's model.onnx (another .onnx file, or a folder)")
    if add_args:
        add_args(ap)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    return a


def build_cpu(a, *tsc_flags, model=None, name="model_server"):
    """workdir/NAME for the CPU target from `model` (default: --model, else the fixture's model.onnx)."""
    exe = os.path.join(a.workdir, name)
    subprocess.run([a.tsc, model or a.model or os.path.join(a.fixture, "model.onnx"), "-o", exe, "--target", "cpu", *tsc_flags], check=True)
    return exe


def fixture_vocab(fixture):
    """The vocabulary size, from the reference logits stored beside the fixture."""
    return int(np.load(os.path.join(fixture, "logits.npy")).shape[-1])


def scorer(exe, ids, workdir, mode):
    """Saves `ids` under workdir; returns score(*flags) -> the logits of `exe score --mode MODE *flags` on them."""
    ids_path, out = os.path.join(workdir, "ids.npy"), os.path.join(workdir, "out.npy")
    np.save(ids_path, ids)

    def score(*extra):
        subprocess.run([exe, "score", "--input-ids", ids_path, "--out", out, "--mode", mode, *extra], check=True)
        return np.load(out)
    return score
