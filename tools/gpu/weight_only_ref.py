#!/usr/bin/env python3
"""onnxruntime's logits for an int8/uint8 (DynamicQuantizeLinear + MatMulInteger) file computed weight-only, as the
CUDA kernels compute it (templates/cuda/gemv_i8.cuh): every MatMulInteger whose weight is an initializer, with its
Cast and scale Mul, becomes MatMul(x, (W - wz) * ws) on the float activations. The CPU target computes what the file
says (activations quantized per step); the two differ by the activation quantization, which this tool also prints.

Usage: python3 tools/gpu/weight_only_ref.py MODEL_int8.onnx... (input ids from the fixture's reference/input_ids.npy)"""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper as nh


def weight_only(m):
    """The model with each DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(x_scale * w_scale) chain replaced by
    MatMul on the dequantized weight (float64 dequantization, stored as float32)."""
    g = m.graph
    init = {i.name: i for i in g.initializer}
    prod = {o: n for n in g.node for o in n.output}
    cons = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    drop = []
    for n in list(g.node):
        if n.op_type != "MatMulInteger":
            continue
        dq = prod[n.input[0]]
        cast = cons[n.output[0]][0]
        mul = cons[cast.output[0]][0]
        if dq.op_type != "DynamicQuantizeLinear" or cast.op_type != "Cast" or mul.op_type != "Mul" or n.input[1] not in init:
            raise SystemExit(f"{n.name}: not the quantize_dynamic pattern this tool rewrites")
        smul = prod[[i for i in mul.input if i != cast.output[0]][0]]
        ws = [i for i in smul.input if i in init][0]
        w = nh.to_array(init[n.input[1]]).astype(np.float64)
        wz = nh.to_array(init[n.input[3]]).astype(np.float64) if len(n.input) > 3 and n.input[3] else 0.0
        deq = ((w - wz) * nh.to_array(init[ws]).astype(np.float64)).astype(np.float32)
        g.initializer.append(nh.from_array(deq, n.input[1] + "_weight_only"))
        g.node.insert(list(g.node).index(n), onnx.helper.make_node("MatMul", [dq.input[0], n.input[1] + "_weight_only"], [mul.output[0]],
                                                                   name=n.name + "_weight_only"))
        drop += [n, cast, mul]
    for n in drop:
        g.node.remove(n)
    return m


def logits(model, ids):
    """Prefill logits [B, T, V] of an optimum-layout model (input_ids, attention_mask, position_ids, empty past)."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    b, t = ids.shape
    feeds = {}
    for i in s.get_inputs():
        if i.name == "input_ids":
            feeds[i.name] = ids
        elif i.name == "attention_mask":
            feeds[i.name] = np.ones((b, t), np.int64)
        elif i.name == "position_ids":
            feeds[i.name] = np.tile(np.arange(t, dtype=np.int64), (b, 1))
        elif "past" in i.name:  # [batch, kv heads, 0, head dim]
            shape = [b if isinstance(d, str) and "batch" in d else 0 if isinstance(d, str) else d for d in i.shape]
            feeds[i.name] = np.zeros(shape, np.float16 if "float16" in i.type else np.float32)
        else:
            raise SystemExit(f"unexpected model input {i.name}")
    return s.run(["logits"], feeds)[0].astype(np.float64)


def main():
    for f in sys.argv[1:]:
        ids = np.load(f.split("/onnx/")[0] + "/reference/input_ids.npy")
        a = logits(onnx.load(f), ids)
        w = logits(weight_only(onnx.load(f)), ids)
        print(f"{f}: weight-only vs activation-quantized (onnxruntime on both): rel {np.abs(a - w).max() / np.abs(a).max():.2e}, "
              f"argmax agreement {(a.argmax(-1) == w.argmax(-1)).mean():.3f} of {a.shape[0] * a.shape[1]}")


if __name__ == "__main__":
    main()
