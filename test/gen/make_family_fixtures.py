#!/usr/bin/env python3
# Makes fixtures of decoder families beyond GPT-2/Llama (Granite, Gemma, ...): tiny random configs of transformers' own model classes, dynamo export, onnxruntime reference logits.
"""Usage: python3 test/gen/make_family_fixtures.py [--out test/Inputs/fixtures] [--only NAME...]
       python3 test/gen/make_family_fixtures.py --refused [--out test/lit/Inputs/families]

Same machinery and files as test/gen/make_fixtures.py (model.onnx, config.json, input_ids.npy, logits.npy from
onnxruntime CPU, meta.json with the package versions): only the fixture table differs. Norm weights are
drawn as 1 + 0.1 N(0, 1) (Gemma's (1 + w) norms then scale by ~2), so no norm is the identity.
--refused writes only NAME.onnx (+ NAME.config.json) of one-layer-pair models whose features tsc refuses from the
graph (q/k norms other than Qwen3's and OLMo 2's RMSNorms), for the lit tests of those refusals: nothing to compare,
so no reference logits.
"""

import sys
from pathlib import Path

import json
import tempfile

import torch

from transformers import Gemma2Config, Gemma3TextConfig, GemmaConfig, GraniteConfig, LlamaConfig, Olmo2Config, Phi3Config, Qwen3Config, SmolLM3Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402

COMMON = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128, vocab_size=512,
              max_position_embeddings=256, use_cache=False)

FIXTURES = [
    # Granite 3: every multiplier away from its neutral value; attention_multiplier differs from 1/sqrt(head_dim).
    mf.Fixture("granite_dynamo",
               lambda: GraniteConfig(**COMMON, num_key_value_heads=2, tie_word_embeddings=True, embedding_multiplier=12.0,
                                     attention_multiplier=0.0625, residual_multiplier=0.22, logits_scaling=8.0,
                                     rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
               mf.export_dynamo, seed=20000,
               note="Granite 3: GQA 4/2, tied, embedding x12, attention x0.0625, residual x0.22, logits / 8"),
    # Gemma 1: MQA (1 KV head), head_dim 32 != hidden/heads = 16, GeGLU (tanh GELU), (1 + w) RMSNorm, embedding x sqrt(64).
    mf.Fixture("gemma_dynamo",
               lambda: GemmaConfig(**COMMON, num_key_value_heads=1, head_dim=32, hidden_activation="gelu_pytorch_tanh",
                                   tie_word_embeddings=True, rms_norm_eps=1e-6),
               mf.export_dynamo, seed=21000,
               note="Gemma 1: MQA 4/1, head_dim 32 (hidden 64), GeGLU tanh, (1 + w) RMSNorm, embedding x sqrt(hidden), tied"),
    # Phi-3 / Phi-4-mini: fused qkv_proj and gate_up_proj; partial rotary (0.75 of head_dim, as Phi-4-mini).
    mf.Fixture("phi3_dynamo",
               lambda: Phi3Config(**COMMON, num_key_value_heads=2, tie_word_embeddings=False, rms_norm_eps=1e-5,
                                  pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                  rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.75}),
               mf.export_dynamo, seed=22000,
               note="Phi-3/Phi-4-mini: GQA 4/2, fused qkv and gate_up projections, partial rotary 0.75 (12 of 16 channels)"),
    # Llama 3.2: llama3 rope scaling as the 1B/3B models have it (theta 5e5, factor 32, original 8192), head_dim 64
    # so that 14 of 32 frequencies stay unscaled, as in the real models; tied embeddings.
    mf.Fixture("llama32_dynamo",
               lambda: LlamaConfig(**{**COMMON, "hidden_size": 128, "max_position_embeddings": 131072, "num_attention_heads": 2},
                                   num_key_value_heads=1, head_dim=64, tie_word_embeddings=True, rms_norm_eps=1e-5,
                                   rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                                                    "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                    "original_max_position_embeddings": 8192}),
               mf.export_dynamo, seed=23000,
               note="Llama 3.2: llama3 rope scaling (theta 5e5, factor 32, original 8192), head_dim 64, MQA 2/1, tied"),
    # Qwen3: per-head RMSNorm of q and k (q_norm, k_norm: [head_dim] weights, drawn 1 + 0.1 N like every norm) between
    # the projections and the rotary; head_dim 32 != hidden/heads (Qwen3's 0.6B has 128 with hidden 1024, 16 heads), tied.
    mf.Fixture("qwen3_dynamo",
               lambda: Qwen3Config(**COMMON, num_key_value_heads=2, head_dim=32, tie_word_embeddings=True, rms_norm_eps=1e-6,
                                   pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                   rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
               mf.export_dynamo, seed=25000,
               note="Qwen3: per-head q/k RMSNorm before the rotary, GQA 4/2, head_dim 32 (hidden 64), tied"),
    # SmolLM3: no rotary on every fourth layer (no_rope_layers [1, 1, 1, 0]: 1 = rotary, HF's convention), 4 layers.
    mf.Fixture("smollm3_dynamo",
               lambda: SmolLM3Config(**{**COMMON, "num_hidden_layers": 4}, num_key_value_heads=2, tie_word_embeddings=True,
                                     rms_norm_eps=1e-6, pad_token_id=0, bos_token_id=1, eos_token_id=2, no_rope_layer_interval=4),
               mf.export_dynamo, seed=26000,
               note="SmolLM3: layer 3 without rotary (NoPE, no_rope_layers [1, 1, 1, 0]), GQA 4/2, tied"),
    # OLMo 2: post-norm blocks (post_attention_layernorm / post_feedforward_layernorm on each branch's output before
    # the residual add, no norm before the projections) and q/k RMSNorm over all heads ([heads * head_dim] weights).
    mf.Fixture("olmo2_dynamo",
               lambda: Olmo2Config(**COMMON, num_key_value_heads=2, tie_word_embeddings=False, rms_norm_eps=1e-6,
                                   pad_token_id=0, bos_token_id=1, eos_token_id=2),
               mf.export_dynamo, seed=27000,
               note="OLMo 2: post-norm blocks, q/k RMSNorm over all heads, GQA 4/2, untied"),
    # Gemma 2: attention logits soft-capped (tanh(s/c)*c, c = 3 so that tanh bends: scores here reach ~5), final logits
    # soft-capped (c = 30, Gemma 2's own; logits reach ~50), query_pre_attn_scalar 24 != head_dim 32 (scale 24^-0.5), 4 norms per layer
    # (pre and post attention, pre and post feedforward). Every layer global (layer_types all full_attention): Gemma 2's
    # alternating sliding-window layers are refused (compiler/lift/family_refusals.cpp).
    mf.Fixture("gemma2_dynamo",
               lambda: Gemma2Config(**COMMON, num_key_value_heads=2, head_dim=32, hidden_activation="gelu_pytorch_tanh",
                                    tie_word_embeddings=True, rms_norm_eps=1e-6, query_pre_attn_scalar=24,
                                    attn_logit_softcapping=3.0, final_logit_softcapping=30.0,
                                    layer_types=["full_attention"] * COMMON["num_hidden_layers"]),
               mf.export_dynamo, seed=28000,
               note="Gemma 2: attention soft-capping 3, final soft-capping 30, query_pre_attn_scalar 24, pre+post norms, "
                    "GQA 4/2, head_dim 32, GeGLU tanh, tied; all layers global"),
    # Gemma 3 (text, Gemma3ForCausalLM): Gemma 2's sandwich norms plus per-head q/k RMSNorm ((1 + w), as every Gemma
    # norm), no soft-capping (its configs have none), query_pre_attn_scalar 24. Every layer global (layer_types all
    # full_attention), so every layer rotates with rope_parameters.full_attention's theta; its sliding layers (and
    # their rope_local_base_freq) are refused.
    mf.Fixture("gemma3_dynamo",
               lambda: Gemma3TextConfig(**COMMON, num_key_value_heads=2, head_dim=32, hidden_activation="gelu_pytorch_tanh",
                                        tie_word_embeddings=True, rms_norm_eps=1e-6, query_pre_attn_scalar=24,
                                        layer_types=["full_attention"] * COMMON["num_hidden_layers"]),
               mf.export_dynamo, seed=29000,
               note="Gemma 3 text: per-head q/k RMSNorm, pre+post norms, query_pre_attn_scalar 24, GQA 4/2, head_dim 32, "
                    "GeGLU tanh, tied; all layers global (rope theta 1e6)"),
]



def with_kv_cache(fx: mf.Fixture) -> mf.Fixture:
    """The same model exported with past_key_values inputs and present outputs (the layout optimum and the hub use)."""
    def config():
        c = fx.config()
        c.use_cache = True
        return c
    return mf.Fixture(fx.name.replace("_dynamo", "_kv_dynamo"), config, mf.export_dynamo_kv, seed=fx.seed + 500, kv_cache=True,
                      note=fx.note + "; with past_key_values/present inputs/outputs")


# Granite's multipliers, Gemma's MQA cache, Phi-3's fused qkv, Qwen3's and OLMo 2's q/k norms, Gemma 2's soft-caps and
# Gemma 2/3's sandwich norms through the cache path too.
FIXTURES += [with_kv_cache(fx) for fx in FIXTURES if fx.name in ("granite_dynamo", "gemma_dynamo", "phi3_dynamo", "qwen3_dynamo", "olmo2_dynamo", "gemma2_dynamo", "gemma3_dynamo")]

TINY = dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=2, num_key_value_heads=1, intermediate_size=64,
            vocab_size=64, max_position_embeddings=64, use_cache=False, pad_token_id=0, bos_token_id=None, eos_token_id=63)


def layernorm_qk(model):
    """q_norm / k_norm as a LayerNorm of each head (weight and bias drawn away from 1 and 0): a q/k normalization
    other than Qwen3's and OLMo 2's RMSNorms, which tsc refuses."""
    for layer in model.model.layers:
        att = layer.self_attn
        for name in ("q_norm", "k_norm"):
            ln = torch.nn.LayerNorm(att.head_dim, eps=1e-6)
            with torch.no_grad():
                ln.weight.copy_(1 + 0.1 * torch.randn_like(ln.weight))
                ln.bias.copy_(0.1 * torch.randn_like(ln.bias))
            setattr(att, name, ln)
    return model


# name: (config, change to the built model)
REFUSED = {
    "qwen3_layernorm_qk": (lambda: Qwen3Config(**TINY, head_dim=16), layernorm_qk),  # LayerNorm q/k norms per head
}


def make_refused(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (config, change) in REFUSED.items():
        model = change(mf.build_model(config(), seed=24000))
        with tempfile.TemporaryDirectory() as tmp:
            m, _ = mf.export_dynamo(model, Path(tmp))
            mf.strip_node_metadata(m, keep=False)
            mf.onnx.save_model(m, str(out / f"{name}.onnx"))
        (out / f"{name}.config.json").write_text(json.dumps(model.config.to_dict(), sort_keys=True, indent=2, default=str) + "\n")
        print(f"{name}: {(out / f'{name}.onnx').stat().st_size / 1e3:.0f} KB", flush=True)


if __name__ == "__main__":
    if "--refused" in sys.argv:
        outs = sys.argv[sys.argv.index("--out") + 1:][:1] if "--out" in sys.argv else []
        make_refused(Path(outs[0]) if outs else mf.ROOT / "test/lit/Inputs/families")
    else:
        mf.main(FIXTURES, __doc__.splitlines()[0])
