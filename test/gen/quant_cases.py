#!/usr/bin/env python3
# quant_cases: writes test/unit/cpu/data/quant_cases.json, single-node MatMulNBits and DynamicQuantizeLinear + MatMulInteger cases whose outputs onnxruntime computed, for linear_quant_test.cpp.
"""Usage: python3 test/gen/quant_cases.py   (rewrites test/unit/cpu/data/quant_cases.json; deterministic)

The graphs are the forms the quantizers write: MatMulNBitsQuantizer's com.microsoft MatMulNBits (4 bits,
accuracy_level unset) and quantize_dynamic's DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(x_scale * w_scale).
"""
import json
import os

import numpy as np
import onnx
import onnx.helper as h
import onnxruntime as ort
from onnx import TensorProto as TP

rng = np.random.default_rng(20261207)
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "cpu")


def run(graph, feeds):
    m = h.make_model(graph, opset_imports=[h.make_opsetid("", 18), h.make_opsetid("com.microsoft", 1)], ir_version=9)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the nodes as written
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def flat(a):
    a = np.asarray(a)
    return a.ravel().astype(np.float64 if a.dtype.kind == "f" else np.int64).tolist()


def q4_case(M, K, N, block, with_zp):
    nb = (K + block - 1) // block
    codes = rng.integers(0, 256, size=(N, nb, block // 2), dtype=np.uint8)
    scales = (rng.random(N * nb, dtype=np.float32) * 0.1 + 0.01).astype(np.float32)
    zp = rng.integers(0, 256, size=(N * ((nb + 1) // 2),), dtype=np.uint8) if with_zp else None
    x = rng.standard_normal((M, K), dtype=np.float32)
    ins = ["x", "codes", "scales"] + (["zp"] if with_zp else [])
    node = h.make_node("MatMulNBits", ins, ["y"], domain="com.microsoft", K=K, N=N, bits=4, block_size=block)
    inits = [onnx.numpy_helper.from_array(codes, "codes"), onnx.numpy_helper.from_array(scales, "scales")]
    if with_zp:
        inits.append(onnx.numpy_helper.from_array(zp, "zp"))
    g = h.make_graph([node], "q4", [h.make_tensor_value_info("x", TP.FLOAT, [M, K])],
                     [h.make_tensor_value_info("y", TP.FLOAT, [M, N])], initializer=inits)
    (y,) = run(g, {"x": x})
    return {"kind": "q4", "M": M, "K": K, "N": N, "block": block, "x": flat(x), "codes": flat(codes),
            "scales": flat(scales), "zp": flat(zp) if with_zp else None, "y": flat(y)}


def int8_case(M, K, N, wtype, per_column, scale_x=1.0, positive=False):
    np_t = np.int8 if wtype == "int8" else np.uint8
    info = np.iinfo(np_t)
    wq = rng.integers(info.min, info.max + 1, size=(K, N), dtype=np_t)
    nz = N if per_column else 1
    wzp = rng.integers(info.min // 4, info.max // 4 + 1, size=(nz,), dtype=np_t) if wtype == "int8" else \
        rng.integers(100, 156, size=(nz,), dtype=np_t)
    ws = (rng.random(nz, dtype=np.float32) * 0.02 + 0.001).astype(np.float32)
    x = (rng.standard_normal((M, K), dtype=np.float32) * scale_x).astype(np.float32)
    if positive:
        x = np.abs(x)  # min 0: zero point 0
    nodes = [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xzp"]),
             h.make_node("MatMulInteger", ["xq", "wq", "xzp", "wzp"], ["acc"]),
             h.make_node("Cast", ["acc"], ["accf"], to=TP.FLOAT),
             h.make_node("Mul", ["xs", "ws"], ["s"]),
             h.make_node("Mul", ["accf", "s"], ["y"])]
    inits = [onnx.numpy_helper.from_array(wq, "wq"), onnx.numpy_helper.from_array(wzp, "wzp"),
             onnx.numpy_helper.from_array(ws, "ws")]
    outs = [h.make_tensor_value_info("y", TP.FLOAT, [M, N]), h.make_tensor_value_info("xq", TP.UINT8, [M, K]),
            h.make_tensor_value_info("xs", TP.FLOAT, []), h.make_tensor_value_info("xzp", TP.UINT8, [])]
    g = h.make_graph(nodes, "int8", [h.make_tensor_value_info("x", TP.FLOAT, [M, K])], outs, initializer=inits)
    y, xq, xs, xzp = run(g, {"x": x})
    return {"kind": wtype, "M": M, "K": K, "N": N, "x": flat(x), "wq": flat(wq), "wzp": flat(wzp), "ws": flat(ws),
            "y": flat(y), "xq": flat(xq), "xs": float(xs), "xzp": int(xzp)}


def main():
    cases = [
        q4_case(3, 64, 24, 32, with_zp=False),    # transformers.js q4: block 32, symmetric
        q4_case(2, 64, 16, 128, with_zp=True),    # K = 64 < block 128: one padded block
        q4_case(4, 256, 8, 128, with_zp=True),    # two blocks per row
        q4_case(1, 96, 12, 64, with_zp=True),     # K not a multiple of the block; odd block count (zp nibble)
        q4_case(5, 64, 10, 16, with_zp=False),
        int8_case(3, 64, 16, "int8", per_column=False),
        int8_case(2, 48, 12, "uint8", per_column=False),
        int8_case(4, 32, 8, "int8", per_column=True),
        int8_case(2, 32, 8, "uint8", per_column=False, scale_x=0.0),  # all zeros: scale 0
        int8_case(3, 40, 6, "int8", per_column=False, positive=True),
        # The VNNI paths' edges (linear_int8.h): 4 x 4 tiles plus a 1 x 8 row, a K tail past whole vectors;
        # packed panels with a partial last panel, a partial group of 4 and rows past the last 8.
        int8_case(6, 70, 19, "uint8", per_column=True),
        int8_case(9, 130, 37, "int8", per_column=True),
        int8_case(17, 67, 40, "uint8", per_column=False),
    ]
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    meta = {"onnxruntime": ort.__version__, "onnx": onnx.__version__}
    with open(os.path.join(HERE, "data", "quant_cases.json"), "w") as f:
        json.dump({"generated_by": "test/gen/quant_cases.py", "versions": meta, "cases": cases}, f)
        f.write("\n")
    print(f"quant_cases: {len(cases)} cases")


if __name__ == "__main__":
    main()
