#!/usr/bin/env python3
"""tsc --weight-dtype (compile-time quantization of a float file) against onnxruntime's own quantizers on the same
float file: MatMulNBitsQuantizer(bits=4, block_size=G, is_symmetric=True) for --weight-dtype int4 --weight-group G,
and quantize_dynamic(weight_type=QInt8, per_channel=True) over the MatMuls for --weight-dtype int8. When tsc's rule
is onnxruntime's, both hold the same codes and scales, so tsc's CPU logits on the float file match onnxruntime's on
the file its quantizer wrote: max abs error <= 1e-3 x max|logit|, identical argmax, in prefill (whole and in chunks)
and dense decode, each sequence fed to onnxruntime in the same chunks (score_int8_vs_ort.check; int8 inputs are
quantized per step). The fixture's hidden width (64) is below block 128, so G = 128 also checks the padded last block.
--tied-fixture (a tied head, as a Transpose of the embedding table, which onnxruntime's quantizers leave in floats):
`--weight-dtype int4 --head-dtype int4` against onnxruntime on a file whose head MatMul reads the table's transpose as
an initializer of its own, so that MatMulNBitsQuantizer quantizes it with the layers, and whose Gather table is that
head's codes dequantized (numpy) - what tsc gathers; prefill and dense decode against its whole-sequence logits."""
import copy
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from fixture_exe import build_cpu, parse_args
from score_int8_vs_ort import check
from score_vs_ort import compare


def int4_file(src, dst, group):
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    q = MatMulNBitsQuantizer(copy.deepcopy(src), bits=4, block_size=group, is_symmetric=True)
    q.process()
    q.model.save_model_to_file(dst)


def int8_file(src_path, dst):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(src_path, dst, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
                     extra_options={"MatMulConstBOnly": True})


def tied_head_file(src, dst, group):
    """The int4 reference of a tied model: the head's Transpose(table) made an initializer, every MatMul quantized by
    MatMulNBitsQuantizer, and the Gather's table replaced by the quantized head's rows, dequantized."""
    m = copy.deepcopy(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    prod = {o: n for n in g.node for o in n.output}
    gather = next(n for n in g.node if n.op_type == "Gather" and n.input[0] in inits)
    table = numpy_helper.to_array(inits[gather.input[0]])
    head = next(n for n in g.node if n.op_type == "MatMul" and n.input[1] in prod and prod[n.input[1]].op_type == "Transpose"
                and prod[n.input[1]].input[0] == gather.input[0])
    g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(table.T), "tied_head_t"))
    head.input[1] = "tied_head_t"
    int4_file(m, dst, group)
    q = onnx.load(dst)
    qi = {i.name: i for i in q.graph.initializer}
    node = next(n for n in q.graph.node if n.op_type == "MatMulNBits" and n.input[1].startswith("tied_head_t"))
    codes, scales = numpy_helper.to_array(qi[node.input[1]]), numpy_helper.to_array(qi[node.input[2]])
    V, nb = codes.shape[0], codes.shape[1]
    c = np.stack([codes & 15, codes >> 4], -1).reshape(V, nb, group).astype(np.float32)
    w = ((c - 8) * scales.reshape(V, nb, 1)).reshape(V, nb * group)[:, :table.shape[1]]
    qi[gather.input[0]].CopyFrom(numpy_helper.from_array(w.astype(np.float32), gather.input[0]))
    onnx.save(q, dst)


def check_tied(a, fixture, group):
    ref_path = os.path.join(a.workdir, f"ort_tied_int4_g{group}.onnx")
    tied_head_file(onnx.load(os.path.join(fixture, "model.onnx")), ref_path, group)
    ids_path = os.path.join(fixture, "input_ids.npy")
    ids = np.load(ids_path)
    ref = ort.InferenceSession(ref_path, providers=["CPUExecutionProvider"]).run(["logits"], {"input_ids": ids})[0]
    flags = ["--weight-dtype", "int4", "--weight-group", str(group), "--head-dtype", "int4"]
    exe = build_cpu(a, *flags, model=os.path.join(fixture, "model.onnx"), name=f"model_server_tied_g{group}")
    print(f"== tsc {' '.join(flags)} on {fixture} vs onnxruntime on {os.path.basename(ref_path)}")
    ok = True
    for mode, extra in (("prefill", []), ("decode", ["--dense"])):
        out = os.path.join(a.workdir, "logits_tied.npy")
        subprocess.run([exe, "score", "--input-ids", ids_path, "--out", out, "--mode", mode, *extra], check=True)
        ok &= compare(f"tied head int4 {mode}", np.load(out), ref, 1e-3)
    return ok


def main():
    a = parse_args(add_args=lambda ap: ap.add_argument("--tied-fixture", help="a tied model's folder (model.onnx, input_ids.npy)"))
    src = os.path.join(a.fixture, "onnx", "model.onnx")
    ids = os.path.join(a.fixture, "reference", "input_ids.npy")
    model = onnx.load(src)
    ok = True
    for flags, name in ((["--weight-dtype", "int4", "--weight-group", "32"], "int4_g32"),
                        (["--weight-dtype", "int4", "--weight-group", "128"], "int4_g128"),
                        (["--weight-dtype", "int8"], "int8")):
        ref = os.path.join(a.workdir, f"ort_{name}.onnx")
        if name == "int8":
            int8_file(src, ref)
        else:
            int4_file(model, ref, int(flags[-1]))
        exe = build_cpu(a, *flags, model=a.fixture, name=f"model_server_{name}")
        print(f"== tsc {' '.join(flags)} on the float file vs onnxruntime on {os.path.basename(ref)}")
        ok &= check(exe, ref, ids, a.workdir)
    if a.tied_fixture:
        ok &= check_tied(a, a.tied_fixture, 32)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
