#!/usr/bin/env python3
# eval_ort_cases: writes test/unit/ir/data/eval_ort_cases.json, single-op cases whose expected outputs onnxruntime computed,
# for eval_ort_test.cpp (tsc's reference evaluator must agree with the runtime users compare against).
"""Usage: python3 test/gen/eval_ort_cases.py   (rewrites test/unit/ir/data/eval_ort_cases.json; deterministic)"""
import json
import os

import numpy as np
import onnx
import onnx.helper as h
import onnxruntime as ort

OPSET = 18
rng = np.random.default_rng(20261126)
cases = []


def enc(a):
    a = np.asarray(a)
    dt = onnx.helper.np_dtype_to_tensor_dtype(a.dtype)
    data = a.astype(np.float64).ravel().tolist() if a.dtype.kind == "f" else a.astype(np.int64).ravel().tolist()
    return {"dtype": int(dt), "shape": list(a.shape), "data": data}


def case(name, op, inputs, attrs=None, n_out=1, tol=0.0, opset=OPSET):
    """inputs: list of numpy arrays or None (absent optional input)."""
    attrs = attrs or {}
    in_names = [f"i{k}" if x is not None else "" for k, x in enumerate(inputs)]
    out_names = [f"o{k}" for k in range(n_out)]
    node = h.make_node(op, in_names, out_names, **attrs)
    graph_inputs = [h.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
                    for n, x in zip(in_names, inputs) if x is not None]
    graph_outputs = [h.make_empty_tensor_value_info(n) for n in out_names]
    g = h.make_graph([node], name, graph_inputs, graph_outputs)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], ir_version=9)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run(out_names, {n: x for n, x in zip(in_names, inputs) if x is not None})
    jattrs = {}
    for k, v in attrs.items():
        if isinstance(v, bool) or isinstance(v, int):
            jattrs[k] = {"i": int(v)}
        elif isinstance(v, float):
            jattrs[k] = {"f": v}
        elif isinstance(v, (list, tuple)):
            jattrs[k] = {"ints": [int(x) for x in v]}
        elif isinstance(v, onnx.TensorProto):
            jattrs[k] = {"t": enc(onnx.numpy_helper.to_array(v))}
        else:
            raise TypeError(k)
    cases.append({"name": name, "op": op, "attrs": jattrs, "inputs": [None if x is None else enc(x) for x in inputs],
                  "outputs": [enc(o) for o in outs], "tol": tol})


f32 = np.float32
x = rng.standard_normal((3, 4)).astype(f32) * 2
pos = rng.uniform(0.1, 4.0, (3, 4)).astype(f32)
halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -3.7], f32)
for op, inp, tol in [("Exp", x, 2e-6), ("Log", pos, 2e-6), ("Sqrt", pos, 1e-7), ("Tanh", x, 2e-6), ("Erf", x, 2e-6),
                     ("Sigmoid", x, 2e-6), ("Cos", x, 2e-6), ("Sin", x, 2e-6), ("Reciprocal", pos, 1e-7),
                     ("Floor", halves, 0), ("Ceil", halves, 0), ("Round", halves, 0), ("Abs", x, 0), ("Neg", x, 0),
                     ("Relu", x, 0), ("Sign", halves, 0)]:
    case(f"{op.lower()}_f32", op, [inp], tol=tol)
a = rng.standard_normal((2, 1, 4)).astype(f32)
b = rng.standard_normal((3, 1)).astype(f32)
for op in ["Add", "Sub", "Mul", "Div", "Max", "Min"]:
    case(f"{op.lower()}_broadcast", op, [a, b], tol=1e-7)
case("pow_broadcast", "Pow", [pos, np.array([0.5, 2.0, 3.0, -1.0], f32)], tol=2e-6)
ia = np.array([7, -7, 7, -7, 0, 13], np.int64)
ib = np.array([2, 2, -2, -2, 3, -5], np.int64)
case("div_i64", "Div", [ia, ib])
case("mod_i64", "Mod", [ia, ib])
case("mod_i64_fmod", "Mod", [ia, ib], {"fmod": 1})
case("mod_f32_fmod", "Mod", [np.array([5.5, -5.5, 5.5], f32), np.array([2, 2, -2], f32)], {"fmod": 1})
for op in ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"]:
    case(f"{op.lower()}_i64", op, [ia, ib])
case("cast_f32_i64", "Cast", [halves], {"to": onnx.TensorProto.INT64})
case("cast_f32_f16", "Cast", [x * 1000], {"to": onnx.TensorProto.FLOAT16})
case("cast_f32_bool", "Cast", [np.array([0, -0.0, 0.1, -2], f32)], {"to": onnx.TensorProto.BOOL})
case("cast_i64_f32", "Cast", [np.array([1 << 40, -3], np.int64)], {"to": onnx.TensorProto.FLOAT})
case("where_broadcast", "Where", [np.array([[True], [False]]), a[0], np.array(-1, f32)])
t4 = rng.standard_normal((2, 3, 4, 5)).astype(f32)
case("transpose_4d", "Transpose", [t4], {"perm": [0, 2, 3, 1]})
case("transpose_default", "Transpose", [t4])
case("reshape_0_minus1", "Reshape", [t4, np.array([0, -1, 5], np.int64)])
case("flatten_axis2", "Flatten", [t4], {"axis": 2})
case("shape_slice", "Shape", [t4], {"start": -3, "end": -1})
case("size", "Size", [t4])
case("gather_axis1_neg", "Gather", [t4, np.array([[-1, 0], [1, 1]], np.int64)], {"axis": 1})
case("gathernd", "GatherND", [t4, np.array([[1, 2], [0, 0]], np.int64)])
case("slice_multi_axis", "Slice", [t4, np.array([1, -1, 4], np.int64), np.array([3, -100, 0], np.int64),
                                   np.array([1, 2, 3], np.int64), np.array([1, -2, -2], np.int64)])
case("slice_int64_max", "Slice", [t4, np.array([2], np.int64), np.array([np.iinfo(np.int64).max], np.int64),
                                  np.array([-1], np.int64), None])
case("concat_neg_axis", "Concat", [t4[:, :, :, :2], t4[:, :, :, 2:]], {"axis": -1})
case("unsqueeze", "Unsqueeze", [x, np.array([0, 3], np.int64)])
case("squeeze", "Squeeze", [x.reshape(3, 1, 4, 1), np.array([1, -1], np.int64)])
case("expand", "Expand", [a, np.array([3, 2, 1, 4], np.int64)])
case("tile", "Tile", [x, np.array([2, 3], np.int64)])
case("range_f32", "Range", [np.array(1.0, f32), np.array(-2.0, f32), np.array(-0.75, f32)])
case("range_i64", "Range", [np.array(-3, np.int64), np.array(10, np.int64), np.array(4, np.int64)])
case("constantofshape", "ConstantOfShape", [np.array([2, 3], np.int64)],
     {"value": onnx.numpy_helper.from_array(np.array([2.5], f32))})
case("matmul_batched", "MatMul", [rng.standard_normal((2, 1, 3, 4)).astype(f32), rng.standard_normal((3, 4, 5)).astype(f32)], tol=1e-6)
case("cumsum_excl_rev", "CumSum", [x, np.array(1, np.int64)], {"exclusive": 1, "reverse": 1}, tol=1e-6)
case("trilu_lower_k", "Trilu", [t4, np.array(-1, np.int64)], {"upper": 0})
case("trilu_upper_k", "Trilu", [t4, np.array(2, np.int64)])
case("reducemean_keep0", "ReduceMean", [t4, np.array([1, -1], np.int64)], {"keepdims": 0}, tol=1e-6)
case("reducesum_all", "ReduceSum", [t4], tol=1e-6)
case("reducemax", "ReduceMax", [t4, np.array([2], np.int64)])
case("reducemin", "ReduceMin", [t4, np.array([0], np.int64)], {"keepdims": 0})
case("softmax", "Softmax", [t4 * 3], tol=1e-6)
case("split_sizes", "Split", [t4, np.array([1, 4], np.int64)], {"axis": 3}, n_out=2)
case("split_even", "Split", [t4], {"axis": 1, "num_outputs": 3}, n_out=3)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "ir", "data", "eval_ort_cases.json")
with open(out, "w") as f:
    json.dump({"generator": "test/gen/eval_ort_cases.py", "onnxruntime": ort.__version__, "cases": cases}, f, indent=None)
    f.write("\n")
print(f"eval_ort_cases: {len(cases)} cases -> {out}")
