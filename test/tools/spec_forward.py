#!/usr/bin/env python3
# spec_forward: runs the decoder that `tsc --emit=spec` describes in numpy, with weights taken through its bindings, against reference logits.
"""Usage: tsc MODEL --emit=spec | spec_forward.py MODEL INPUT_IDS.npy LOGITS.npy [--last] [--rtol R]
       tsc MODEL --emit=spec | spec_forward.py MODEL --ort [--rtol R]

Proves the recovered spec means the model: every hyperparameter and every weight binding (initializer,
transpose, slice, scale) is used to recompute the logits, which must match onnxruntime's reference. A wrong
binding (q and k swapped, a slice off by one head, a missing transpose) cannot pass.
--last: the reference holds only the last position's logits ([batch, 1, vocab]).
--ort: the reference is onnxruntime on MODEL itself, for seeded random ids [2, 7] (hand-written models).
Rotary tables are rebuilt from rope_theta and rotary_dim, as HF computes them; qk_norm, no_rope_layers, post_norm,
sandwich_norm and the soft-caps (Qwen3's per-head and OLMo 2's all-heads q/k norms, SmolLM3's layers without rotary,
OLMo 2's post-norm blocks, Gemma 2's four norms a layer and soft-capped scores and logits) are applied as the spec
says.
"""
import argparse
import json
import re
import sys

import numpy as np
import onnx
import onnx.numpy_helper

LINE = re.compile(r"^\s+(\S+): \$(\S+) (\w+)\[([\d,]*)\] -> (\S+) -> \[([\d,]*)\]$")


def parse_spec(text):
    spec, weights, section = {}, {}, None
    for line in text.splitlines():
        if line in ("DecoderSpec", "weights", "io"):
            section = line
            continue
        if section == "DecoderSpec":
            k, v = line.strip().split(": ", 1)
            spec[k] = json.loads(v)
        elif section == "weights":
            m = LINE.match(line)
            if not m:
                sys.exit(f"spec_forward: cannot parse weight line {line!r}")
            name, init, _, _, ops, shape = m.groups()
            weights[name] = (init, [] if ops == "none" else re.findall(r"transpose|slice\(\d+,\d+,\d+\)|scale\([^)]*\)", ops),
                             [int(d) for d in shape.split(",") if d])
    return spec, weights


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("input_ids", nargs="?")
    ap.add_argument("logits", nargs="?")
    ap.add_argument("--ort", action="store_true")
    ap.add_argument("--last", action="store_true")
    ap.add_argument("--rtol", type=float, default=1e-3, help="max |diff| / max |reference|")
    a = ap.parse_args()

    spec, wb = parse_spec(sys.stdin.read())
    model = onnx.load(a.model)
    inits = {t.name: t for t in model.graph.initializer}

    def W(name):
        if name not in wb:
            return None
        init, ops, shape = wb[name]
        if init not in inits:
            sys.exit(f"spec_forward: {name} names '{init}', which is not an initializer of {a.model}")
        x = onnx.numpy_helper.to_array(inits[init]).astype(np.float64)
        for op in ops:
            if op == "transpose":
                x = x.T
            elif op.startswith("scale("):   # a family's constant folded into the weight (Granite, Gemma)
                x = x * float(op[6:-1])
            else:
                axis, start, length = map(int, op[6:-1].split(","))
                x = np.take(x, np.arange(start, start + length), axis=axis)
        if list(x.shape) != shape and not (len(shape) == 1 and x.size == shape[0]):
            sys.exit(f"spec_forward: {name}: transforms give {list(x.shape)}, the spec says {shape}")
        return x.reshape(shape)

    if a.ort:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.log_severity_level = 3  # unused-initializer warnings of hand-written variants are noise here
        sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
        vocab = spec["vocab_size"]
        ids = np.random.default_rng(0).integers(0, vocab, (2, 7)).astype(np.int64)
        feed = {}
        for i in sess.get_inputs():
            if "position" in i.name:
                feed[i.name] = np.tile(np.arange(ids.shape[1], dtype=np.int64), (ids.shape[0], 1))
            elif "mask" in i.name:
                feed[i.name] = np.ones(ids.shape, dtype=np.int64)
            else:
                feed[i.name] = ids
        ref = sess.run([sess.get_outputs()[0].name], feed)[0].astype(np.float64)
        ref_name = "onnxruntime"
    elif a.input_ids and a.logits:
        ids = np.load(a.input_ids)
        ref = np.load(a.logits).astype(np.float64)
        ref_name = a.logits
    else:
        sys.exit("spec_forward: give INPUT_IDS.npy and LOGITS.npy, or --ort")
    B, T = ids.shape
    H, nh, nkv, hd = spec["hidden_size"], spec["num_attention_heads"], spec["num_key_value_heads"], spec["head_dim"]
    eps = spec["norm_eps"]

    def norm(x, w, b):
        if spec["norm"] == "layernorm":
            x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
        else:
            x = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
        return x * w + (b if b is not None else 0)

    def lin(x, w, b):
        return x @ w.T + (b if b is not None else 0)

    def act(x):
        from math import sqrt, pi
        if spec["activation"] == "gelu_tanh":
            return 0.5 * x * (1 + np.tanh(sqrt(2 / pi) * (x + 0.044715 * x ** 3)))
        if spec["activation"] == "gelu":
            from math import erf
            return 0.5 * x * (1 + np.vectorize(erf)(x / sqrt(2)))
        return x / (1 + np.exp(-x))

    x = W("embed_tokens")[ids]
    pos = np.arange(T)
    if spec["position"] == "learned":
        x = x + W("embed_positions")[pos]
    else:
        rd = spec["rotary_dim"]
        inv = 1.0 / spec["rope_theta"] ** (np.arange(0, rd, 2) / rd)
        ang = np.concatenate([pos[:, None] * inv] * 2, axis=-1)  # [T, rd], halves repeated
        cos, sin = np.cos(ang), np.sin(ang)

    def rope(t, layer):  # t: [B, heads, T, hd]; SmolLM3's no_rope_layers: 0 = no rotary in that layer
        if spec["position"] != "rope" or not spec.get("no_rope_layers", [1] * (layer + 1))[layer]:
            return t
        rd = spec["rotary_dim"]
        r, rest = t[..., :rd], t[..., rd:]
        rh = np.concatenate([-r[..., rd // 2:], r[..., :rd // 2]], axis=-1)
        return np.concatenate([r * cos + rh * sin, rest], axis=-1)

    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(spec["num_hidden_layers"]):
        p = f"layers.{i}."
        post = spec.get("post_norm", False)  # OLMo 2: no norm before the projections, norms on the branch outputs
        h = x if post else norm(x, W(p + "attn_norm_w"), W(p + "attn_norm_b"))
        qf, kf = lin(h, W(p + "q_w"), W(p + "q_b")), lin(h, W(p + "k_w"), W(p + "k_b"))
        if spec.get("qk_norm") == "all_heads":  # OLMo 2: RMSNorm over all heads of q and of k, before the head split
            qf, kf = norm(qf, W(p + "q_norm_w"), None), norm(kf, W(p + "k_norm_w"), None)
        q = qf.reshape(B, T, nh, hd).transpose(0, 2, 1, 3)
        k = kf.reshape(B, T, nkv, hd).transpose(0, 2, 1, 3)
        v = lin(h, W(p + "v_w"), W(p + "v_b")).reshape(B, T, nkv, hd).transpose(0, 2, 1, 3)
        if spec.get("qk_norm") == "per_head":  # Qwen3: RMSNorm of each q and k head before the rotary
            q = norm(q, W(p + "q_norm_w"), None)
            k = norm(k, W(p + "k_norm_w"), None)
        q, k = rope(q, i), rope(k, i)
        k, v = np.repeat(k, nh // nkv, axis=1), np.repeat(v, nh // nkv, axis=1)
        s = q @ k.transpose(0, 1, 3, 2) * spec["attention_scale"]
        if spec.get("attn_logit_softcapping"):  # Gemma 2: c tanh(s / c) before the mask
            s = spec["attn_logit_softcapping"] * np.tanh(s / spec["attn_logit_softcapping"])
        s = s + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        o = (s / s.sum(-1, keepdims=True)) @ v
        o = o.transpose(0, 2, 1, 3).reshape(B, T, nh * hd)
        o = lin(o, W(p + "o_w"), W(p + "o_b"))
        if spec.get("sandwich_norm"):  # Gemma 2: the branch outputs are normalized too
            o = norm(o, W(p + "post_attn_norm_w"), None)
        x = x + (norm(o, W(p + "attn_norm_w"), W(p + "attn_norm_b")) if post else o)
        h = x if post else norm(x, W(p + "mlp_norm_w"), W(p + "mlp_norm_b"))
        if spec["mlp_gated"]:
            m = act(lin(h, W(p + "gate_w"), W(p + "gate_b"))) * lin(h, W(p + "up_w"), W(p + "up_b"))
        else:
            m = act(lin(h, W(p + "up_w"), W(p + "up_b")))
        m = lin(m, W(p + "down_w"), W(p + "down_b"))
        if spec.get("sandwich_norm"):
            m = norm(m, W(p + "post_mlp_norm_w"), None)
        x = x + (norm(m, W(p + "mlp_norm_w"), W(p + "mlp_norm_b")) if post else m)
    x = norm(x, W("final_norm_w"), W("final_norm_b"))
    logits = lin(x, W("lm_head"), W("lm_head_b"))
    if spec.get("final_logit_softcapping"):
        logits = spec["final_logit_softcapping"] * np.tanh(logits / spec["final_logit_softcapping"])

    if a.last:
        logits = logits[:, -1:, :]
    if logits.shape != ref.shape:
        sys.exit(f"spec_forward: logits {logits.shape} but the reference is {ref.shape}")
    err = np.abs(logits - ref).max() / np.abs(ref).max()
    agree = (logits.argmax(-1) == ref.argmax(-1)).mean()
    if err > a.rtol or agree < 1.0:
        sys.exit(f"spec_forward: logits differ from {ref_name}: max rel error {err:.3g} (limit {a.rtol}), "
                 f"argmax agreement {agree:.3f}")
    print(f"spec_forward: logits match {ref_name} (max rel error {err:.2g})")


if __name__ == "__main__":
    main()
