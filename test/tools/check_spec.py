#!/usr/bin/env python3
# check_spec: compares `tsc --emit=spec --json` (stdin) with the HF config.json a model was exported from, key by key.
"""Usage: tsc MODEL --emit=spec --json | check_spec.py CONFIG.json [--graph-only]

Maps HF names (GPT-2: n_layer, n_embd, ...; Llama: num_hidden_layers, hidden_size, ...) and the facts
each architecture implies (GPT-2 has LayerNorm, learned positions and biases; Llama has RMSNorm, rotary
and a gated SiLU MLP; Granite adds four multipliers; Gemma scales embeddings by sqrt(hidden_size) and
gates with tanh GELU) to DecoderSpec keys, and requires exact equality for every key the spec prints:
integers, booleans and strings as they are, floats after rounding both sides to float32 (eps and theta
come from float32 constants in the graph). A spec key this script does not know is an error too, so a
new field cannot go unchecked.

--xfail K1,K2: keys known to differ because of an open tsc bug; they must still differ (so the test
notices the fix), and every other key must match.

--torch-dtype D: the file's weights are D whatever config.json says (transformers.js's model_fp16.onnx shares the
float32 model's config.json).

--quantization FORMAT[:BLOCK]: the file keeps its projections quantized (int4 with its block size, int8, uint8):
the spec's `quantization` entry must name that format, its bits and block size, and at least one projection.

--hf-config PATH: CONFIG is onnxruntime-genai's genai_config.json (model.decoder.* keys, context_length, vocab_size), read
under HF's names as tsc reads it; the keys it does not carry (norm eps, rope theta, intermediate size, activation, tied
embeddings) come from PATH, the HF config.json the builder read. genai_config.json's own values take precedence.

--graph-only: the model was compiled without config.json beside it, so everything must come from the
graph; rotary models then cannot know max_position_embeddings, which must be null.
"""
import argparse
import json
import math
import struct
import sys

# HF activation names -> DecoderSpec activation names.
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh",
               "gelu": "gelu", "silu": "silu", "swish": "silu"}
DTYPES = {None: "float32", "float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def need(cfg, key):
    if key not in cfg:
        sys.exit(f"check_spec: config.json has no '{key}'")
    return cfg[key]


def expected_gpt2(c):
    n_embd, n_head = need(c, "n_embd"), need(c, "n_head")
    e = {
        "num_hidden_layers": ("n_layer", need(c, "n_layer")),
        "hidden_size": ("n_embd", n_embd),
        "num_attention_heads": ("n_head", n_head),
        "num_key_value_heads": ("n_head (GPT-2 has no GQA)", n_head),
        "head_dim": ("n_embd / n_head", n_embd // n_head),
        "intermediate_size": ("n_inner (None -> 4*n_embd)", c.get("n_inner") or 4 * n_embd),
        "vocab_size": ("vocab_size", need(c, "vocab_size")),
        "max_position_embeddings": ("n_positions", need(c, "n_positions")),
        "norm_eps": ("layer_norm_epsilon", need(c, "layer_norm_epsilon")),
        "activation": ("activation_function", ACTIVATIONS.get(need(c, "activation_function"), "?" + c["activation_function"])),
        "tie_word_embeddings": ("tie_word_embeddings (default true)", c.get("tie_word_embeddings", True)),
        "attention_scale": ("1/sqrt(head_dim) (scale_attn_weights)",
                            1.0 / math.sqrt(n_embd // n_head) if c.get("scale_attn_weights", True) else 1.0),
        "rope_theta": ("GPT-2: no rotary", None),
        "rotary_dim": ("GPT-2: no rotary", None),
        "rope_interleaved": ("GPT-2: no rotary", False),
        "norm": ("GPT-2: LayerNorm", "layernorm"),
        "position": ("GPT-2: learned positions", "learned"),
        "mlp_gated": ("GPT-2: plain MLP", False),
        "attention_bias": ("GPT-2: Conv1D with bias", True),
        "mlp_bias": ("GPT-2: Conv1D with bias", True),
        "lm_head_bias": ("GPT-2: no LM head bias", False),
    }
    return e


def expected_llama(c, graph_only):
    hidden, heads = need(c, "hidden_size"), need(c, "num_attention_heads")
    head_dim = c.get("head_dim") or hidden // heads
    theta = c.get("rope_theta")
    theta_key = "rope_theta"
    if theta is None and isinstance(c.get("rope_parameters"), dict):
        theta, theta_key = c["rope_parameters"].get("rope_theta"), "rope_parameters.rope_theta"
    if theta is None and isinstance((c.get("rope_parameters") or {}).get("full_attention"), dict):
        # Gemma 3: rope parameters per layer type; tsc compiles only models whose layers are all global.
        theta, theta_key = c["rope_parameters"]["full_attention"].get("rope_theta"), "rope_parameters.full_attention.rope_theta"
    if theta is None:
        theta, theta_key = 10000.0, "rope_theta (default 10000)"
    partial = c.get("partial_rotary_factor") or (c.get("rope_parameters") or {}).get("partial_rotary_factor") or 1.0
    e = {
        "num_hidden_layers": ("num_hidden_layers", need(c, "num_hidden_layers")),
        "hidden_size": ("hidden_size", hidden),
        "num_attention_heads": ("num_attention_heads", heads),
        "num_key_value_heads": ("num_key_value_heads", c.get("num_key_value_heads") or heads),
        "head_dim": ("head_dim (or hidden_size / num_attention_heads)", head_dim),
        "intermediate_size": ("intermediate_size", need(c, "intermediate_size")),
        "vocab_size": ("vocab_size", need(c, "vocab_size")),
        "max_position_embeddings": ("max_position_embeddings", need(c, "max_position_embeddings")),
        "rope_theta": (theta_key, theta),
        "norm_eps": ("rms_norm_eps", need(c, "rms_norm_eps")),
        "activation": ("hidden_act", ACTIVATIONS.get(need(c, "hidden_act"), "?" + c["hidden_act"])) if "hidden_act" in c
                      else ("hidden_activation", ACTIVATIONS.get(need(c, "hidden_activation"), "?" + c["hidden_activation"])),
        "tie_word_embeddings": ("tie_word_embeddings (default false)", c.get("tie_word_embeddings", False)),
        "attention_bias": ("attention_bias (default false)", c.get("attention_bias", False)),
        "mlp_bias": ("mlp_bias (default false)", c.get("mlp_bias", False)),
        "attention_scale": ("head_dim ** -0.5", head_dim ** -0.5),
        "rotary_dim": ("head_dim * partial_rotary_factor", int(head_dim * partial)),
        "rope_interleaved": ("Llama: rotate_half", False),
        "norm": ("Llama: RMSNorm", "rmsnorm"),
        "position": ("Llama: rotary", "rope"),
        "mlp_gated": ("Llama: gated MLP", True),
        "lm_head_bias": ("Llama: no LM head bias", False),
    }
    if c.get("model_type") == "granite":
        # Granite 3: four multipliers, each folded into weights but named in the spec; attention_multiplier is the scale.
        for k in ("embedding_multiplier", "residual_multiplier", "logits_scaling", "attention_multiplier"):
            e[k] = (k, need(c, k))
        e["attention_scale"] = ("attention_multiplier", need(c, "attention_multiplier"))
    if c.get("model_type") in ("gemma", "gemma2", "gemma3_text"):
        # Gemma 1 and 2: embeddings x sqrt(hidden_size) (a constant of the model's dtype), GeGLU. Its RMSNorm scales by
        # (1 + w), which the exporters fold into the weight initializer: the graph holds a plain RMSNorm.
        dt = {"float16": "float16", "bfloat16": "bfloat16"}.get(c.get("dtype") or c.get("torch_dtype"), "float32")
        import numpy as np
        e["embedding_multiplier"] = ("Gemma: sqrt(hidden_size) in the model's dtype",
                                     float(np.array(hidden ** 0.5, dtype=np.float16 if dt == "float16" else np.float32)))
        e["activation"] = ("hidden_activation", ACTIVATIONS.get(need(c, "hidden_activation"), "?" + c["hidden_activation"]))
        e["tie_word_embeddings"] = ("tie_word_embeddings (Gemma default true)", c.get("tie_word_embeddings", True))
    if c.get("model_type") == "gemma3_text":
        e["qk_norm"] = ("Gemma 3: per-head q_norm / k_norm", "per_head")
    if c.get("model_type") in ("gemma2", "gemma3_text"):
        # Gemma 2 and 3: sandwich norms (pre and post attention, pre and post feedforward), soft-capped attention scores and
        # logits, attention scale query_pre_attn_scalar ** -0.5.
        e["sandwich_norm"] = ("Gemma 2: post_attention_layernorm / post_feedforward_layernorm beside the pre-norms", True)
        for k in ("attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar"):
            if c.get(k) is not None:
                e[k] = (k, float(c[k]))
        e["attention_scale"] = ("query_pre_attn_scalar ** -0.5", f32(need(c, "query_pre_attn_scalar") ** -0.5))
    if c.get("model_type") == "qwen3":
        # Qwen3: q_norm / k_norm, RMSNorm of every q and k head before the rotary (no config key: the architecture's).
        e["qk_norm"] = ("Qwen3: per-head q_norm / k_norm", "per_head")
    if c.get("model_type") == "olmo2":
        # OLMo 2: q_norm / k_norm over all heads, norms after the attention and the MLP instead of before them.
        e["qk_norm"] = ("OLMo 2: q_norm / k_norm over all heads", "all_heads")
        e["post_norm"] = ("OLMo 2: post_attention_layernorm / post_feedforward_layernorm on the block outputs", True)
    nope = (c.get("no_rope_layers") or [])[:need(c, "num_hidden_layers")]
    if 0 in nope:
        # SmolLM3: 1 where the layer applies the rotary, 0 where it has none (NoPE); printed only when some layer has none.
        e["no_rope_layers"] = ("no_rope_layers", nope)
    rp = c.get("rope_parameters") or c.get("rope_scaling") or {}
    if rp.get("rope_type", rp.get("type")) == "llama3":
        # Llama 3.x: the low frequencies are divided by `factor`; tsc reads it off the graph's inv_freq.
        e["rope_scaling_factor"] = ("rope_parameters.factor (llama3)", float(rp["factor"]))
    if graph_only:
        # Computed rotary tables carry no maximum length; only config.json can say it.
        e["max_position_embeddings"] = ("graph only: rotary models cannot know it", None)
    return e


def hf_names_of_genai(g):
    """genai_config.json under HF config.json names (as compiler/lift/config_check.cpp maps them)."""
    m, d = g["model"], g["model"]["decoder"]
    hf = {k: d[k] for k in ("num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads") if k in d}
    if "head_size" in d:
        hf["head_dim"] = d["head_size"]
    if "context_length" in m:
        hf["max_position_embeddings"] = m["context_length"]
    hf.update({k: m[k] for k in ("vocab_size", "bos_token_id", "eos_token_id") if k in m})
    if "type" in m:
        hf["model_type"] = m["type"]
    return hf


def same(want, got, rel=0.0):
    if isinstance(want, bool) or isinstance(got, bool) or want is None or got is None:
        return type(want) is type(got) and want == got
    if isinstance(want, float) or isinstance(got, float):
        if not isinstance(got, (int, float)):
            return False
        if rel:
            return abs(float(got) - float(want)) <= rel * abs(float(want))
        return f32(float(want)) == f32(float(got))
    return type(want) is type(got) and want == got


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--graph-only", action="store_true")
    ap.add_argument("--hf-config", help="CONFIG is a genai_config.json; the HF config.json for the keys it lacks")
    ap.add_argument("--torch-dtype", help="the weight dtype the file has (a converted variant beside the original's config.json)")
    ap.add_argument("--spec", help="read the spec from this file instead of stdin")
    ap.add_argument("--quantization", help="FORMAT[:BLOCK] the file's projections keep (int4:32, int8, uint8)")
    ap.add_argument("--xfail", default="", help="comma-separated keys known to differ (a tsc bug); an error once they match")
    a = ap.parse_args()

    text = open(a.spec).read() if a.spec else sys.stdin.read()
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit(f"check_spec: the spec is not JSON ({e}); got:\n{text[:2000]}")
    with open(a.config) as f:
        cfg = json.load(f)
    if isinstance(cfg.get("model"), dict) and isinstance(cfg["model"].get("decoder"), dict):
        base = {}
        if a.hf_config:
            with open(a.hf_config) as f:
                base = json.load(f)
        cfg = {**base, **hf_names_of_genai(cfg)}

    model_type = cfg.get("model_type")
    if model_type == "gpt2" or "n_layer" in cfg:
        want = expected_gpt2(cfg)
    elif model_type in ("llama", "granite", "gemma", "phi3", "qwen3", "smollm3", "olmo2") or "num_hidden_layers" in cfg:
        want = expected_llama(cfg, a.graph_only)
    else:
        sys.exit(f"check_spec: {a.config}: unknown model_type {model_type!r}")
    want["torch_dtype"] = ("dtype (null -> float32)", DTYPES.get(cfg.get("dtype") or cfg.get("torch_dtype"), "?"))
    if a.torch_dtype:
        want["torch_dtype"] = ("--torch-dtype", a.torch_dtype)
    if a.quantization:
        fmt, _, block = a.quantization.partition(":")
        expect = {"format": fmt, "bits": {"int4": 4, "int8": 8, "uint8": 8}.get(fmt), "block_size": int(block or 0)}
        got = spec.get("quantization") or {}
        ok = all(got.get(k) == v for k, v in expect.items()) and got.get("quantized_linears", 0) > 0
        want["quantization"] = ("--quantization", got if ok else expect)

    # attention_scale is no config.json key but what the graph multiplies q.k by. Exporters often scale q and k
    # each by head_dim**-0.25; tsc snaps that product to 1/sqrt(head_dim) in float32 models (compared exactly
    # here), while in float16 models the two half-precision factors give 0.3537 for 1/sqrt(8) = 0.35355, which
    # is what onnxruntime computes: allowed within 2e-3.
    rel = {"attention_scale": 0.0 if want["torch_dtype"][1] == "float32" else 2e-3}
    # A half-precision graph may add eps as a constant of its own type (optimum's RMSNorm converted by
    # onnxruntime's float16 converter: an f16 1e-5 is 1.001358e-05); LayerNormalization keeps a float attribute.
    if want["torch_dtype"][1] == "float16" and isinstance(spec.get("norm_eps"), float):
        import numpy as np
        if f32(float(np.float16(want["norm_eps"][1]))) == f32(spec["norm_eps"]):
            want["norm_eps"] = (want["norm_eps"][0] + " rounded to float16", spec["norm_eps"])
    xfail = set(filter(None, a.xfail.split(",")))
    rows, fixed = [], []
    for key in sorted(set(want) | set(spec)):
        if key not in want:
            rows.append((key, "(not checked: teach check_spec.py what this key must be)", "-", spec[key]))
        elif key not in spec:
            rows.append((key, want[key][0], want[key][1], "(missing)"))
        elif not same(want[key][1], spec[key], rel.get(key, 0.0)):
            if key not in xfail:
                rows.append((key, want[key][0], want[key][1], spec[key]))
        elif key in xfail:
            fixed.append(key)
    if fixed:
        print(f"check_spec: {', '.join(fixed)} now match(es) {a.config}: the bug is fixed, drop --xfail", file=sys.stderr)
        sys.exit(1)
    if rows:
        print(f"check_spec: {len(rows)} key(s) of the recovered spec differ from {a.config}:", file=sys.stderr)
        print(f"  {'key':<26} {'expected':<24} {'got':<24} from", file=sys.stderr)
        for key, src, w, g in rows:
            print(f"  {key:<26} {json.dumps(w):<24} {json.dumps(g):<24} {src}", file=sys.stderr)
        sys.exit(1)
    print(f"check_spec: {len(want)} keys match {a.config}" + (" (graph only)" if a.graph_only else ""))


if __name__ == "__main__":
    main()
