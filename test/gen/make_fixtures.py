#!/usr/bin/env python3
# Regenerates test/Inputs/fixtures: tiny random-weight GPT-2/Llama models exported by the real ONNX exporters, with onnxruntime reference logits.
"""Setup: bash tools/install_deps.sh --demo (torch, transformers, onnxscript).
Usage: python3 test/gen/make_fixtures.py [--out test/Inputs/fixtures] [--only NAME...]

Each fixture directory holds model.onnx (+ model.onnx.data for the external-data one),
config.json (the HF config, sorted keys), input_ids.npy (int64 [2, 12]), logits.npy
(float32, from onnxruntime CPU on model.onnx) and meta.json (exporter, opset, dtype,
I/O names, how the reference was computed, package versions, op census).

Everything is seeded: rerunning with the same package versions gives the same fixtures.
"""

import argparse
import collections
import json
import math
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from transformers import DynamicCache, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
from transformers.pytorch_utils import Conv1D

ROOT = Path(__file__).resolve().parents[2]
BATCH, SEQ = 2, 12
PREFILL = 8            # KV fixtures: prefill this many tokens, then decode the rest one at a time
GREEDY_NEW = 8         # tokenizer fixtures: greedy continuation length stored in greedy.npy
MAX_SEED_TRIES = 50

# Tolerances against the torch model, relative to max|logit|.
TOL_FP32 = 1e-4
TOL_FP16 = 2e-2
# Every position's top-1 must beat its top-2 by this fraction of max|logit|, so argmax tests are robust.
GAP_FRAC = 1e-3


# ----------------------------------------------------------------------------- models

def small_gpt2(**kw) -> GPT2Config:
    # bos/eos default to 50256, outside a 512 vocab; point them at the last token instead.
    base = dict(n_layer=2, n_embd=64, n_head=4, vocab_size=512, n_positions=256,
                bos_token_id=511, eos_token_id=511)
    base.update(kw)
    return GPT2Config(**base)


def small_llama(**kw) -> LlamaConfig:
    base = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=4,
                intermediate_size=128, vocab_size=512, max_position_embeddings=256,
                tie_word_embeddings=False)
    base.update(kw)
    return LlamaConfig(**base)


def randomize(model: torch.nn.Module) -> None:
    """Re-draws every parameter (call torch.manual_seed first).

    The ONNX optimizer merges identical initializers (all-ones norm weights) and drops zero
    biases, which would hide structure the compiler must recover; fresh random values keep
    every tensor distinct. Tied tensors are drawn once, as the module seen first (the embedding).
    """
    seen = set()
    for mod in model.modules():
        for pname, p in mod.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            with torch.no_grad():
                if pname == "bias":
                    p.copy_(0.1 * torch.randn_like(p))
                elif isinstance(mod, torch.nn.Embedding):
                    p.copy_(torch.randn_like(p))
                elif "Norm" in type(mod).__name__:
                    p.copy_(1 + 0.1 * torch.randn_like(p))
                elif isinstance(mod, Conv1D):        # GPT-2's Conv1D weight is [in, out]
                    p.copy_(torch.randn_like(p) / math.sqrt(p.shape[0]))
                elif isinstance(mod, torch.nn.Linear):  # weight is [out, in]
                    p.copy_(torch.randn_like(p) / math.sqrt(p.shape[1]))
                else:
                    raise RuntimeError(f"no init rule for {type(mod).__name__}.{pname}")


def build_model(cfg, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    # Other families (test/gen/make_family_fixtures.py) take transformers' own class for their config.
    cls = {"gpt2": GPT2LMHeadModel, "llama": LlamaForCausalLM}.get(cfg.model_type) or \
        transformers.MODEL_FOR_CAUSAL_LM_MAPPING[type(cfg)]
    cfg.architectures = [cls.__name__]
    model = cls(cfg).eval()
    randomize(model)
    if cfg.tie_word_embeddings:
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    return model


def kv_shape(cfg):
    """(num_kv_heads, head_dim) of the model's cache tensors."""
    if cfg.model_type == "gpt2":
        return cfg.n_head, cfg.n_embd // cfg.n_head
    return cfg.num_key_value_heads, getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads


# ----------------------------------------------------------------------------- exporters
# Each exporter writes <tmp>/model.onnx however its exporter likes and returns an onnx.ModelProto
# with all tensor data loaded, plus facts for meta.json.

def _dims():
    return torch.export.Dim("batch"), torch.export.Dim("seq")


class WithMaskAndPositions(torch.nn.Module):
    """Passes attention_mask and position_ids explicitly: the TorchScript exporter fails on
    transformers 5's own mask/position code (aten::diff) otherwise."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          position_ids=position_ids, use_cache=False).logits


class WithFlatCache(torch.nn.Module):
    """Takes the KV cache as flat tensors (past.{i}.key/value) and returns flat presents, so the
    exported graph has one input and one output per cache tensor (the layout optimum uses)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.layers = model.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        cache = DynamicCache(ddp_cache_data=[(past[2 * i], past[2 * i + 1]) for i in range(self.layers)],
                             config=self.model.config)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=cache, use_cache=True)
        present = []
        for layer in out.past_key_values.layers:
            present += [layer.keys, layer.values]
        return (out.logits, *present)


def export_dynamo(model, tmp: Path, **_):
    b, s = _dims()
    ids = torch.zeros(BATCH, SEQ, dtype=torch.int64)
    torch.onnx.export(model, (ids,), str(tmp / "model.onnx"), dynamo=True, input_names=["input_ids"],
                      output_names=["logits"], dynamic_shapes=({0: b, 1: s},))
    return onnx.load(str(tmp / "model.onnx")), {"exporter": "dynamo"}


def export_dynamo_fp16(model, tmp: Path, **_):
    """Exports the model.half() model; if the exporter cannot, exports fp32 and converts the
    ONNX graph with onnxruntime's float16 converter (meta.json says which happened)."""
    try:
        m, facts = export_dynamo(model.half(), tmp)
        facts["fp16_method"] = "torch model.half() before dynamo export"
    except Exception as e:  # noqa: BLE001 - any exporter failure means: fall back
        print(f"  fp16 export failed ({type(e).__name__}: {e}); converting fp32 export", file=sys.stderr)
        from onnxruntime.transformers.float16 import convert_float_to_float16
        m, facts = export_dynamo(model.float(), tmp)
        m = convert_float_to_float16(m, keep_io_types=False)
        facts["fp16_method"] = "fp32 dynamo export converted by onnxruntime.transformers.float16"
    model.float()
    return m, facts


def export_torchscript(model, tmp: Path, opset: int, **_):
    ids = torch.zeros(BATCH, SEQ, dtype=torch.int64)
    mask = torch.ones(BATCH, SEQ, dtype=torch.int64)
    pos = torch.arange(SEQ).expand(BATCH, SEQ)
    dyn = {n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "position_ids", "logits")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about Python control flow on shapes
        torch.onnx.export(WithMaskAndPositions(model).eval(), (ids, mask, pos), str(tmp / "model.onnx"),
                          dynamo=False, opset_version=opset,
                          input_names=["input_ids", "attention_mask", "position_ids"],
                          output_names=["logits"], dynamic_axes=dyn)
    return onnx.load(str(tmp / "model.onnx")), {"exporter": "torchscript"}


def export_dynamo_kv(model, tmp: Path, **_):
    cfg = model.config
    cfg.use_cache = True
    layers = cfg.num_hidden_layers
    kvh, hd = kv_shape(cfg)
    past_len = 5  # any length > 1 keeps the past dimension symbolic; 0 works at run time too
    ids = torch.zeros(BATCH, 3, dtype=torch.int64)
    mask = torch.ones(BATCH, past_len + 3, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + 3).expand(BATCH, 3)
    past = [torch.randn(BATCH, kvh, past_len, hd) for _ in range(2 * layers)]
    b, s = _dims()
    p, t = torch.export.Dim("past"), torch.export.Dim("total")
    # dynamic_shapes for *past is one tuple nested inside the outer tuple.
    dyn = ({0: b, 1: s}, {0: b, 1: t}, {0: b, 1: s}, tuple({0: b, 2: p} for _ in past))
    names = [f"{k}.{i}.{kv}" for k in ("past_key_values", "present") for i in range(layers) for kv in ("key", "value")]
    torch.onnx.export(WithFlatCache(model).eval(), (ids, mask, pos, *past), str(tmp / "model.onnx"), dynamo=True,
                      input_names=["input_ids", "attention_mask", "position_ids"] + names[:2 * layers],
                      output_names=["logits"] + names[2 * layers:], dynamic_shapes=dyn)
    return onnx.load(str(tmp / "model.onnx")), {"exporter": "dynamo"}


def export_ortopt(model, tmp: Path, **_):
    """TorchScript opset-14 export, then onnxruntime's GPT-2 fusion optimizer (com.microsoft ops)."""
    from onnxruntime.transformers.optimizer import optimize_model
    export_torchscript(model, tmp, opset=14)
    cfg = model.config
    opt = optimize_model(str(tmp / "model.onnx"), model_type="gpt2", num_heads=cfg.n_head,
                         hidden_size=cfg.n_embd, opt_level=0, use_gpu=False)
    return opt.model, {"exporter": "ort-optimizer",
                       "ort_optimizer": "optimize_model(model_type='gpt2', opt_level=0) on the TorchScript opset-14 export"}


# ----------------------------------------------------------------------------- references

def session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1  # one thread: reproducible summation order
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def plain_feeds(sess, ids: np.ndarray) -> dict:
    feeds = {"input_ids": ids}
    names = {i.name for i in sess.get_inputs()}
    if "attention_mask" in names:
        feeds["attention_mask"] = np.ones_like(ids)
    if "position_ids" in names:
        feeds["position_ids"] = np.broadcast_to(np.arange(ids.shape[1]), ids.shape).copy()
    return feeds


def ort_logits_plain(path: Path, ids: np.ndarray) -> np.ndarray:
    sess = session(path)
    return sess.run(["logits"], plain_feeds(sess, ids))[0].astype(np.float32)


def ort_logits_kv(path: Path, ids: np.ndarray) -> np.ndarray:
    """Prefill ids[:, :PREFILL] with an empty past, then feed one token at a time, present -> past."""
    sess = session(path)
    past_inputs = [i for i in sess.get_inputs() if i.name.startswith("past_key_values.")]
    np_dtype = np.float16 if past_inputs[0].type == "tensor(float16)" else np.float32
    past = {i.name: np.zeros((ids.shape[0], i.shape[1], 0, i.shape[3]), np_dtype) for i in past_inputs}
    out_names = [o.name for o in sess.get_outputs()]
    chunks, start = [], 0
    for end in [PREFILL] + list(range(PREFILL + 1, ids.shape[1] + 1)):
        feeds = {"input_ids": ids[:, start:end],
                 "attention_mask": np.ones((ids.shape[0], end), np.int64),
                 "position_ids": np.broadcast_to(np.arange(start, end), (ids.shape[0], end - start)).copy(),
                 **past}
        outs = dict(zip(out_names, sess.run(out_names, feeds)))
        chunks.append(outs["logits"].astype(np.float32))
        past = {n.replace("present.", "past_key_values."): v for n, v in outs.items() if n.startswith("present.")}
        start = end
    return np.concatenate(chunks, axis=1)


def torch_logits(model, ids: np.ndarray) -> np.ndarray:
    # fp16 fixtures compare against the fp32 model holding the same fp16-rounded weights.
    with torch.no_grad():
        return model.float()(torch.from_numpy(ids), use_cache=False).logits.numpy()


def gap_ok(logits: np.ndarray) -> bool:
    top2 = np.sort(logits, axis=-1)[..., -2:]
    return bool(np.all(top2[..., 1] - top2[..., 0] > GAP_FRAC * np.abs(logits).max()))


def greedy(path: Path, ids: np.ndarray, new: int):
    """Greedy continuation by recomputing the whole sequence each step; None if any step's
    top-1/top-2 gap is too small to be a robust test."""
    sess = session(path)
    seq = ids
    for _ in range(new):
        last = sess.run(["logits"], plain_feeds(sess, seq))[0][:, -1].astype(np.float32)
        if not gap_ok(last):
            return None
        seq = np.concatenate([seq, last.argmax(-1)[:, None].astype(np.int64)], axis=1)
    return seq


# ----------------------------------------------------------------------------- tokenizer prompts

PROMPTS = [
    "The quick brown fox jumps over the lazy dog while the farmer watches from the old red barn",
    "Once upon a time there was a little girl who lived in a village near the forest with her grandmother",
]


def tokenized_prompts(tok: str, data: Path) -> tuple[np.ndarray, list[str]]:
    """Word prefixes of PROMPTS that encode to exactly SEQ tokens with the real tokenizer."""
    from tokenizers import ByteLevelBPETokenizer, Tokenizer
    if tok == "gpt2":
        t = ByteLevelBPETokenizer(str(data / "gpt2-bpe/encoder.json"), str(data / "gpt2-bpe/vocab.bpe"))
    else:
        t = Tokenizer.from_file(str(data / "llama-sp-bpe/tokenizer.json"))  # adds <s>
    rows, texts = [], []
    for p in PROMPTS:
        words = p.split()
        for n in range(len(words), 0, -1):
            text = " ".join(words[:n])
            enc = t.encode(text).ids
            if len(enc) == SEQ:
                rows.append(enc)
                texts.append(text)
                break
        else:
            raise RuntimeError(f"no prefix of {p!r} encodes to {SEQ} tokens")
    return np.array(rows, dtype=np.int64), texts


# ----------------------------------------------------------------------------- fixture table

@dataclass
class Fixture:
    name: str
    config: Callable[[], object]
    export: Callable
    seed: int
    dtype: str = "float32"
    kv_cache: bool = False
    external_data: bool = False
    opset: int | None = None           # TorchScript only; dynamo picks its own
    tokenizer: str | None = None       # "gpt2" | "llama": real-tokenizer fixture (see below)
    keep_node_metadata: bool = False   # keep the exporter's per-node scope annotations
    note: str = ""


FIXTURES = [
    # gpt2_dynamo alone keeps the exporter's per-node metadata (as users' files have it); the rest
    # drop it to keep the repository small.
    Fixture("gpt2_dynamo", lambda: small_gpt2(use_cache=False), export_dynamo, seed=1000,
            keep_node_metadata=True, note="GPT-2, tied embeddings"),
    Fixture("llama_dynamo", lambda: small_llama(use_cache=False), export_dynamo, seed=2000,
            note="Llama MHA 4/4 heads, untied"),
    Fixture("llama_gqa4_dynamo", lambda: small_llama(num_attention_heads=8, num_key_value_heads=2, use_cache=False),
            export_dynamo, seed=3000, note="Llama GQA 8 heads / 2 kv heads (4:1), head_dim 8, untied"),
    # Non-default rope_theta and rms_norm_eps so the compiler must recover them from the graph.
    Fixture("llama_gqa3_tied_dynamo",
            lambda: small_llama(hidden_size=96, num_attention_heads=6, num_key_value_heads=2, tie_word_embeddings=True,
                                rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                                use_cache=False),
            export_dynamo, seed=4000, note="Llama GQA 6/2 (3:1), hidden 96, head_dim 16, tied, rope_theta 1e5, eps 1e-5"),
    Fixture("gpt2_ts14", lambda: small_gpt2(use_cache=False), export_torchscript, seed=5000, opset=14,
            note="TorchScript exporter, opset 14 (decomposed LayerNorm)"),
    Fixture("gpt2_ts17", lambda: small_gpt2(use_cache=False), export_torchscript, seed=6000, opset=17,
            note="TorchScript exporter, opset 17 (LayerNormalization)"),
    Fixture("gpt2_kv_dynamo", lambda: small_gpt2(), export_dynamo_kv, seed=7000, kv_cache=True,
            note="GPT-2 with past_key_values/present inputs/outputs"),
    Fixture("llama_kv_dynamo", lambda: small_llama(num_key_value_heads=2), export_dynamo_kv, seed=8000,
            kv_cache=True, note="Llama GQA 4/2 with past_key_values/present inputs/outputs"),
    Fixture("gpt2_fp16_dynamo", lambda: small_gpt2(use_cache=False), export_dynamo_fp16, seed=9000, dtype="float16",
            note="GPT-2 with fp16 weights and activations"),
    Fixture("llama_external_dynamo", lambda: small_llama(use_cache=False), export_dynamo, seed=10000,
            external_data=True, note="Llama with all tensors in model.onnx.data"),
    Fixture("gpt2_ortopt", lambda: small_gpt2(use_cache=False), export_ortopt, seed=11000, opset=14,
            note="TorchScript opset-14 GPT-2 after onnxruntime.transformers optimize_model"),
    # Real vocabularies for end-to-end tests with the tokenizers in ../shared/data (not copied here).
    # fp16 and last-position logits only: full [2,12,V] float32 logits alone would be 4.8 MB.
    Fixture("gpt2_tok_dynamo",
            lambda: GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=50257, n_positions=256, use_cache=False),
            export_dynamo_fp16, seed=12000, dtype="float16", tokenizer="gpt2",
            note="GPT-2 vocab 50257 (tokenizer: ../shared/data/gpt2-bpe)"),
    Fixture("llama_tok_dynamo",
            lambda: small_llama(vocab_size=32000, hidden_size=32, num_attention_heads=4, num_key_value_heads=2,
                                intermediate_size=64, tie_word_embeddings=True, use_cache=False),
            export_dynamo_fp16, seed=13000, dtype="float16", tokenizer="llama",
            note="Llama vocab 32000 (tokenizer: ../shared/data/llama-sp-bpe/tokenizer.json)"),
]


# ----------------------------------------------------------------------------- driver

def op_census(m: onnx.ModelProto) -> dict:
    c = collections.Counter(f"{n.domain or 'ai.onnx'}::{n.op_type}" for n in m.graph.node)
    return dict(sorted(c.items()))


def strip_node_metadata(m: onnx.ModelProto, keep: bool) -> str:
    """The dynamo exporter annotates every node with its Python stack trace (absolute paths of the
    machine that exported it: not reproducible) and with module scopes (~40% of a tiny model's
    bytes). Stack traces always go; the scopes stay only where the fixture says keep."""
    for n in m.graph.node:
        props = [p for p in n.metadata_props if keep and p.key != "pkg.torch.onnx.stack_trace"]
        del n.metadata_props[:]
        n.metadata_props.extend(props)
    return "kept, minus pkg.torch.onnx.stack_trace" if keep else "removed"


def save_model(m: onnx.ModelProto, out: Path, external: bool, check: bool) -> None:
    # The dynamo exporter writes external data by default; every fixture but the external one is
    # re-saved as one self-contained model.onnx.
    if external:
        # size_threshold=0 would also move the tiny shape/axes constants out, and onnxruntime's shape
        # inference then refuses the model ("Cannot parse data from external tensors"); 1024 bytes
        # moves every weight but leaves such constants inline, as real large exports have them.
        onnx.save_model(m, str(out / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=1024)
    else:
        onnx.save_model(m, str(out / "model.onnx"))
    if check:
        onnx.checker.check_model(str(out / "model.onnx"))


def attempt(fx: Fixture, seed: int, out: Path, data: Path):
    """Builds, exports and checks one fixture with one seed into out/. Returns meta.json's dict,
    or None if the logits are not argmax-robust (caller retries with the next seed)."""
    cfg = fx.config()
    model = build_model(cfg, seed)
    if fx.dtype == "float16":
        model.config.dtype = torch.float16
    if fx.tokenizer:
        ids, texts = tokenized_prompts(fx.tokenizer, data)
    else:
        ids = np.random.RandomState(seed).randint(0, cfg.vocab_size, size=(BATCH, SEQ)).astype(np.int64)

    with tempfile.TemporaryDirectory() as tmp:
        kwargs = {"opset": fx.opset} if fx.opset else {}
        m, facts = fx.export(model, Path(tmp), **kwargs)
        facts["node_metadata"] = strip_node_metadata(m, fx.keep_node_metadata)
        # onnxruntime's optimizer emits ai.onnx LayerNormalization under opset 14 (ONNX has it from
        # 17; onnxruntime registers its own): valid for onnxruntime, rejected by onnx's checker.
        save_model(m, out, fx.external_data, check=facts["exporter"] != "ort-optimizer")
    if fx.dtype == "float16":
        model.half().float()  # fp32 reference holding exactly the fp16 weights the ONNX file has

    ref = torch_logits(model, ids)
    got = ort_logits_kv(out / "model.onnx", ids) if fx.kv_cache else ort_logits_plain(out / "model.onnx", ids)
    tol = TOL_FP16 if fx.dtype == "float16" else TOL_FP32
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    assert err <= tol, f"{fx.name}: onnxruntime vs torch relative error {err:.3g} > {tol}"
    if not gap_ok(got):
        return None

    files = {"input_ids.npy": ids}
    if fx.tokenizer:
        cont = greedy(out / "model.onnx", ids, GREEDY_NEW)
        if cont is None:
            return None
        files["logits.npy"] = got[:, -1:].copy()
        files["greedy.npy"] = cont
    else:
        files["logits.npy"] = got
    if fx.kv_cache:
        files["logits_full.npy"] = ref.astype(np.float32)
    for fname, arr in files.items():
        np.save(out / fname, arr)
    (out / "config.json").write_text(json.dumps(model.config.to_dict(), sort_keys=True, indent=2, default=str) + "\n")

    saved = onnx.load(str(out / "model.onnx"), load_external_data=False)
    opset = next(o.version for o in saved.opset_import if o.domain in ("", "ai.onnx"))
    if fx.kv_cache:
        reference = (f"onnxruntime {ort.__version__} CPU on model.onnx through the cache path: prefill of tokens "
                     f"0..{PREFILL - 1} with empty past (length 0), then tokens {PREFILL}..{SEQ - 1} one at a time "
                     "feeding present.* back as past_key_values.*; attention_mask all ones over past+current, "
                     "position_ids = absolute positions; logits of all steps concatenated. logits_full.npy: the "
                     "torch model without cache on all 12 tokens")
    else:
        reference = f"onnxruntime {ort.__version__} CPU on model.onnx, all {SEQ} tokens at once"
        if "attention_mask" in [i.name for i in saved.graph.input]:
            reference += ", attention_mask all ones, position_ids arange"
    if fx.dtype == "float16":
        reference += "; fp16 outputs cast to float32"
    meta = {
        "name": fx.name,
        "note": fx.note,
        "exporter": facts.pop("exporter"),
        "opset": opset,
        "dtype": fx.dtype,
        "kv_cache": fx.kv_cache,
        "inputs": [i.name for i in saved.graph.input],
        "outputs": [o.name for o in saved.graph.output],
        "external_data": fx.external_data,
        "reference": reference,
        "reference_vs_torch_max_rel_err": err,
        "seed": seed,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "onnx": onnx.__version__,
        "ops": op_census(saved),
        **facts,
    }
    if fx.kv_cache:
        meta["prefill"] = PREFILL
    if fx.tokenizer:
        meta["tokenizer"] = {"gpt2": "../shared/data/gpt2-bpe (encoder.json, vocab.bpe)",
                             "llama": "../shared/data/llama-sp-bpe/tokenizer.json (adds <s>)"}[fx.tokenizer]
        meta["prompts"] = texts
        meta["logits_positions"] = [SEQ - 1]
        meta["reference"] += (f". logits.npy keeps only the last position ([2, 1, V]) to keep the fixture small; "
                              f"input_ids.npy is the prompts encoded by the real tokenizer; greedy.npy is the "
                              f"prompt plus {GREEDY_NEW} greedy tokens (onnxruntime, full recompute per step, "
                              f"each step's top-1/top-2 gap checked)")
    ms = [o for o in meta["ops"] if o.startswith("com.microsoft::")]
    if ms:
        meta["com_microsoft_ops"] = [o.split("::")[1] for o in ms]
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def make(fx: Fixture, root: Path, data: Path) -> None:
    out = root / fx.name
    for seed in range(fx.seed, fx.seed + MAX_SEED_TRIES):
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        meta = attempt(fx, seed, out, data)
        if meta is not None:
            size = sum(f.stat().st_size for f in out.iterdir())
            print(f"{fx.name}: seed {seed}, opset {meta['opset']}, rel err {meta['reference_vs_torch_max_rel_err']:.2e},"
                  f" {size / 1e6:.2f} MB", flush=True)
            return
        print(f"  {fx.name}: seed {seed} has a near-tie top-1/top-2 logit; retrying", flush=True)
    raise RuntimeError(f"{fx.name}: no seed in {MAX_SEED_TRIES} tries gave argmax-robust logits")


def main(fixtures=None, description=None) -> None:
    """The command line over a fixture table (test/gen/make_family_fixtures.py passes its own)."""
    fixtures = fixtures or FIXTURES
    ap = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "test/Inputs/fixtures")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="fixture names: " + " ".join(f.name for f in fixtures))
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data", help="tokenizer data (../shared/data)")
    args = ap.parse_args()
    known = {f.name for f in fixtures}
    if args.only and not set(args.only) <= known:
        sys.exit(f"unknown fixture(s): {sorted(set(args.only) - known)}\n---> HINT: choose from {sorted(known)}")
    torch.set_num_threads(1)
    for fx in fixtures:
        if not args.only or fx.name in args.only:
            make(fx, args.out, args.data)
    total = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"total fixture size under {args.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
