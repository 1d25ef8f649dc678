#!/usr/bin/env python3
"""Reference distributions for runtime/sample's unit tests, computed by HF transformers' own logits processors.

For seeded random logits vectors (vocab 1000; some with ties, some with -inf entries) and many sampling
parameter combinations, runs the processor chain that transformers' generate() builds for do_sample=True
(GenerationMixin._get_logits_processor: RepetitionPenalty -> Temperature -> TopK -> TopP -> MinP) and writes
the resulting filtered, normalized distribution to test/unit/sample/data/hf_reference.json.

HF has no presence/frequency penalties; for those, an OpenAI-documented processor
(logit -= frequency * count + presence * (count > 0), over generated tokens) is inserted before the
first warper, where tsc applies them.

Cases whose answer is not well defined are nudged away from the ambiguity before they are recorded:
  - ties split by the top-p cut: HF's result then depends on torch.sort's unspecified order of ties;
  - a top-p or min-p threshold within float rounding of a token's (cumulative) probability.

Usage: python3 test/gen/sampling_ref.py [--out test/unit/sample/data/hf_reference.json]
Setup: bash tools/install_deps.sh --demo (transformers, torch).
"""
import argparse
import json
import os

import numpy as np
import torch
from transformers import GenerationConfig, PretrainedConfig
from transformers.generation.logits_process import LogitsProcessor, TopPLogitsWarper, MinPLogitsWarper
from transformers.generation.utils import GenerationMixin

VOCAB = 1000
# Probabilities are stored as integers in units of 1e-8 (-1 = filtered out): exact enough for the test's
# 1e-5 tolerance and a third the size of floats.
UNIT = 1e8


class OpenAIPenalties(LogitsProcessor):
    """presence/frequency penalties as the OpenAI API documents them, counted over generated tokens only."""

    def __init__(self, presence, frequency, prompt_len):
        self.presence, self.frequency, self.prompt_len = presence, frequency, prompt_len

    def __call__(self, input_ids, scores):
        gen = input_ids[:, self.prompt_len:]
        gen = gen[gen < scores.shape[-1]].unsqueeze(0)
        counts = torch.zeros_like(scores).scatter_add_(1, gen, torch.ones_like(gen, dtype=scores.dtype))
        return scores - self.frequency * counts - self.presence * (counts > 0).to(scores.dtype)


class _Model(GenerationMixin):
    """Just enough of a model for GenerationMixin._get_logits_processor to build generate()'s chain."""

    def __init__(self):
        self.config = PretrainedConfig()


MODEL = _Model()


def hf_chain(params, prompt_len):
    gc = GenerationConfig(do_sample=True, temperature=params["temperature"], top_k=params["top_k"],
                          top_p=params["top_p"], min_p=params["min_p"] or None,
                          repetition_penalty=params["repetition_penalty"])
    chain = list(MODEL._get_logits_processor(generation_config=gc, input_ids_seq_length=prompt_len,
                                             encoder_input_ids=torch.zeros(1, prompt_len, dtype=torch.long),
                                             device="cpu", model_kwargs={}))
    if params["presence_penalty"] or params["frequency_penalty"]:
        warpers = [i for i, p in enumerate(chain) if type(p).__name__.endswith("Warper")]
        chain.insert(warpers[0] if warpers else len(chain),
                     OpenAIPenalties(params["presence_penalty"], params["frequency_penalty"], prompt_len))
    return chain


def make_logits(rng):
    """Named [VOCAB] float32 vectors covering the shapes that matter: ties, -inf, peaks, flat, underflow."""
    normal = lambda scale: rng.standard_normal(VOCAB) * scale
    out = {}
    out["normal"] = normal(3.0)
    out["masked"] = normal(3.0)
    out["masked"][rng.random(VOCAB) < 0.15] = -np.inf
    out["ties"] = np.round(normal(3.0) * 2) / 2  # multiples of 0.5: many exact ties
    peaked = normal(1.0)
    peaked[rng.choice(VOCAB, 5, replace=False)] = [12.0, 12.0, 11.0, 9.5, 9.5]  # tied at the top
    out["peaked"] = peaked
    out["flat"] = normal(0.3)
    out["ties_masked"] = np.round(normal(2.0) * 2) / 2
    out["ties_masked"][rng.random(VOCAB) < 0.3] = -np.inf
    out["wide"] = normal(15.0)  # exp(x - max) underflows float32 for many tokens
    return {k: v.astype(np.float32) for k, v in out.items()}


def make_context(rng, logits):
    """Prompt and generated ids that hit the likely tokens, with repeats, overlaps and an id >= VOCAB."""
    top = np.argsort(-logits, kind="stable")[:30]
    prompt = list(rng.choice(top[:20], 12)) + list(rng.integers(0, VOCAB, 20)) + [VOCAB + 5]
    generated = list(rng.choice(top[:10], 10)) + list(rng.choice(prompt[:12], 5)) + list(rng.integers(0, VOCAB, 8))
    return [int(t) for t in prompt], [int(t) for t in generated]


def parameter_sets(rng):
    base = dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0,
                presence_penalty=0.0, frequency_penalty=0.0)
    one = lambda **kw: {**base, **kw}
    sparse_singles = [one(top_k=1), one(top_k=7), one(top_k=50), one(top_p=0.3), one(top_p=0.8),
                      one(min_p=0.3), one(top_k=40, temperature=0.5)]
    dense_singles = [one(temperature=0.5), one(temperature=1.5), one(top_k=2000), one(top_p=0.95),
                     one(min_p=0.05), one(repetition_penalty=1.3), one(repetition_penalty=0.8),
                     one(presence_penalty=0.7, frequency_penalty=0.4),
                     one(presence_penalty=-0.5, frequency_penalty=-0.3)]
    combos = []
    for _ in range(18):
        combos.append(one(temperature=float(rng.choice([0.7, 1.0, 1.3])), top_k=int(rng.choice([0, 5, 40, 200])),
                          top_p=float(rng.choice([1.0, 0.5, 0.9])), min_p=float(rng.choice([0.0, 0.02, 0.1])),
                          repetition_penalty=float(rng.choice([1.0, 1.2, 0.9])),
                          presence_penalty=float(rng.choice([0.0, 0.5])),
                          frequency_penalty=float(rng.choice([0.0, 0.3]))))
    return sparse_singles, dense_singles, combos


def run_case(logits, prompt, generated, params):
    """Runs the chain; returns (probs, ambiguity or None)."""
    ids = torch.tensor([prompt + generated])
    scores = torch.from_numpy(logits).unsqueeze(0).clone()
    problem = None
    for proc in hf_chain(params, len(prompt)):
        before = scores
        scores = proc(ids, scores)
        if isinstance(proc, TopPLogitsWarper):
            problem = problem or top_p_ambiguity(before[0], scores[0], params["top_p"])
        if isinstance(proc, MinPLogitsWarper):
            problem = problem or min_p_ambiguity(before[0], params["min_p"])
    return torch.softmax(scores, dim=-1)[0], scores[0], problem


def top_p_ambiguity(before, after, top_p):
    kept = torch.isfinite(after)
    removed = torch.isfinite(before) & ~kept
    if removed.any() and kept.any() and before[kept].min().item() in set(before[removed].tolist()):
        return "tie split by the top-p cut"
    probs = torch.softmax(before.double(), -1)
    cum = torch.sort(probs).values.cumsum(0)
    if (cum - (1 - top_p)).abs().min() < 2e-4:
        return "top-p threshold within rounding of a cumulative probability"
    return None


def min_p_ambiguity(before, min_p):
    probs = torch.softmax(before.double(), -1)
    ratio = probs[probs > 0] / probs.max()
    if ((ratio / min_p) - 1).abs().min() < 1e-4:
        return "min-p threshold within rounding of a probability"
    return None


def nudge(params, attempt):
    p = dict(params)
    if p["top_p"] < 1.0:
        p["top_p"] = round(min(0.999, p["top_p"] + 0.0137 * attempt), 6)
    if p["min_p"] > 0.0:
        p["min_p"] = round(p["min_p"] * (1 + 0.071 * attempt), 6)
    return p


def encode_probs(probs, scores):
    kept = torch.isfinite(scores)
    ints = [int(round(float(p) * UNIT)) if k else -1 for p, k in zip(probs.tolist(), kept.tolist())]
    if int(kept.sum()) <= VOCAB // 4:
        idx = [i for i, v in enumerate(ints) if v >= 0]
        return {"ids": idx, "p": [ints[i] for i in idx]}
    return {"p": ints}


def floats(v):
    """float32 values as their shortest decimals (which parse back to the same float32); -inf as null."""
    out = []
    for x in np.asarray(v, dtype=np.float32):
        if not np.isfinite(x):
            out.append(None)
            continue
        d = float(str(x))
        assert np.float32(d) == x
        out.append(d)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "unit", "sample", "data",
                                                  "hf_reference.json"))
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(20261126)
    logits = make_logits(rng)
    sparse_singles, dense_singles, combos = parameter_sets(rng)
    # Full-vocabulary answers are big: those cases run on a few vectors only, to keep the file < 300 KB.
    dense_on = {"normal": dense_singles, "ties": dense_singles, "wide": dense_singles[:2]}

    vectors, cases, skipped = [], [], 0
    for vi, (name, x) in enumerate(logits.items()):
        prompt, generated = make_context(rng, x)
        lsm = torch.log_softmax(torch.from_numpy(x), -1)
        top = torch.topk(lsm, 20)
        vec = {"name": name, "logits": floats(x), "prompt": prompt, "generated": generated,
               "top_logprobs": [[int(i), v] for v, i in zip(floats(top.values.numpy()), top.indices.tolist())]}
        if name == "normal":
            vec["log_softmax"] = floats(lsm.numpy())
        vectors.append(vec)
        for params in sparse_singles + combos + dense_on.get(name, []):
            for attempt in range(30):
                p = nudge(params, attempt)
                probs, scores, problem = run_case(x, prompt, generated, p)
                if problem is None:
                    break
            else:
                skipped += 1
                continue
            cases.append({"vector": vi, "params": p, **encode_probs(probs, scores)})

    with open(args.out, "w") as f:
        json.dump({"generator": "test/gen/sampling_ref.py", "torch": torch.__version__,
                   "transformers": __import__("transformers").__version__, "vocab": VOCAB, "prob_unit": UNIT,
                   "vectors": vectors, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"{args.out}: {len(vectors)} vectors, {len(cases)} cases ({skipped} skipped as ambiguous), "
          f"{os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
