#!/usr/bin/env python3
# onnx_from_text: ONNX textual syntax (onnx.parser) -> .onnx for lit tests, with weight filling, external data and corruption.
"""Usage: onnx_from_text.py IN -o OUT [options]

IN is ONNX textual syntax (as printed by onnx.printer) or, if it ends in .onnx, a binary model
(so that the corruption options can be applied to fixtures). Directives inside the text, one per
comment line, turn graph inputs into initializers so tests need not spell out thousands of weights:

    # @init NAME KIND      KIND: randn[:scale] | uniform[:lo:hi] | zeros | ones | fill:V | arange
                           (values are deterministic: seeded by NAME)

Options (applied in this order):
    --external-data LOC    move initializers of at least --external-threshold bytes (default 1024)
                           into LOC beside OUT (onnx.external_data_helper)
    --raw-tensors          store every tensor (initializers, Constant values, also inside functions) as raw_data
                           bytes, as exporters do, instead of the parser's typed fields
    --check                run onnx.checker.check_model (off by default: some tests need invalid models)
    --truncate N           keep only the first N bytes of OUT (N < 0: drop the last -N bytes)
    --corrupt OFF:HEX      overwrite bytes of OUT at OFF (negative: from the end) with HEX ("ffff00")
    --truncate-external N  keep only the first N bytes of the external data file
    --set-external KEY=VALUE     after saving, set KEY (location, offset, length) of every external tensor's
                                 reference to VALUE (files stay where they are); repeatable
"""
import argparse
import os
import re
import sys
import zlib

import numpy as np
import onnx
import onnx.external_data_helper
import onnx.helper
import onnx.numpy_helper
import onnx.parser

INIT_RE = re.compile(r"^\s*#\s*@init\s+(\S+)\s+(\S+)\s*$")


def fill(name, kind, shape, np_dtype):
    # Seeded by the name so that a test's weights do not change when other weights are added.
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    parts = kind.split(":")
    k = parts[0]
    if k == "randn":
        scale = float(parts[1]) if len(parts) > 1 else 1.0
        v = rng.standard_normal(shape) * scale
    elif k == "uniform":
        lo, hi = (float(parts[1]), float(parts[2])) if len(parts) > 2 else (-1.0, 1.0)
        v = rng.uniform(lo, hi, shape)
    elif k == "zeros":
        v = np.zeros(shape)
    elif k == "ones":
        v = np.ones(shape)
    elif k == "fill":
        v = np.full(shape, float(parts[1]))
    elif k == "arange":
        v = np.arange(int(np.prod(shape))).reshape(shape)
    else:
        sys.exit(f"onnx_from_text: unknown @init kind '{kind}' for '{name}'")
    return v.astype(np_dtype)


def apply_inits(model, text):
    inits = {}
    for line in text.splitlines():
        m = INIT_RE.match(line)
        if m:
            inits[m.group(1)] = m.group(2)
    g = model.graph
    for name, kind in inits.items():
        vi = next((i for i in g.input if i.name == name), None)
        if vi is None:
            sys.exit(f"onnx_from_text: @init names '{name}', which is not a graph input")
        tt = vi.type.tensor_type
        shape = []
        for d in tt.shape.dim:
            if not d.HasField("dim_value"):
                sys.exit(f"onnx_from_text: @init input '{name}' needs a static shape")
            shape.append(d.dim_value)
        np_dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)
        g.initializer.append(onnx.numpy_helper.from_array(fill(name, kind, shape, np_dtype), name))
        g.input.remove(vi)


def to_raw(model):
    def conv(t):
        if t.data_location == onnx.TensorProto.EXTERNAL or t.HasField("raw_data"):
            return
        arr = onnx.numpy_helper.to_array(t)
        t.CopyFrom(onnx.numpy_helper.from_array(arr, t.name))

    def nodes(ns):
        for n in ns:
            for at in n.attribute:
                if at.HasField("t"):
                    conv(at.t)
                for g in list(at.graphs) + ([at.g] if at.HasField("g") else []):
                    graph(g)

    def graph(g):
        for t in g.initializer:
            conv(t)
        nodes(g.node)

    graph(model.graph)
    for f in model.functions:
        nodes(f.node)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--external-data")
    ap.add_argument("--external-threshold", type=int, default=1024)
    ap.add_argument("--raw-tensors", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--truncate", type=int)
    ap.add_argument("--corrupt", action="append", default=[])
    ap.add_argument("--truncate-external", type=int)
    ap.add_argument("--set-external", action="append", default=[])
    a = ap.parse_args()

    if a.input.endswith(".onnx"):
        model = onnx.load(a.input)
    else:
        with open(a.input) as f:
            text = f.read()
        try:
            model = onnx.parser.parse_model(text)
        except Exception as e:  # the parser's messages name line and column
            sys.exit(f"onnx_from_text: {a.input}: {e}")
        apply_inits(model, text)
    if a.raw_tensors:
        to_raw(model)
    if a.check:
        onnx.checker.check_model(model, full_check=True)
    out = os.path.abspath(a.output)
    if a.external_data:
        ext = os.path.join(os.path.dirname(out), a.external_data)
        if os.path.exists(ext):
            os.remove(ext)  # onnx refuses to (or appends to) an existing data file
        # onnx checks for an existing data file relative to the working directory: work beside the output.
        os.chdir(os.path.dirname(out))
        onnx.external_data_helper.convert_model_to_external_data(
            model, all_tensors_to_one_file=True, location=a.external_data, size_threshold=a.external_threshold)
    onnx.save(model, out)
    if a.set_external:
        if not a.external_data:
            sys.exit("onnx_from_text: --set-external needs --external-data")
        updates = dict(kv.split("=", 1) for kv in a.set_external)
        # Only the model's references change; the data file stays where onnx.save wrote it.
        m = onnx.load(out, load_external_data=False)
        for t in onnx.external_data_helper._get_all_tensors(m):
            if t.data_location != onnx.TensorProto.EXTERNAL:
                continue
            for key, value in updates.items():
                entry = next((kv for kv in t.external_data if kv.key == key), None) or t.external_data.add(key=key)
                entry.value = value
        with open(out, "wb") as f:
            f.write(m.SerializeToString())

    if a.truncate is not None or a.corrupt:
        with open(out, "rb") as f:
            data = bytearray(f.read())
        for c in a.corrupt:
            off, hexbytes = c.split(":")
            off = int(off)
            b = bytes.fromhex(hexbytes)
            if off < 0:
                off += len(data)
            data[off:off + len(b)] = b
        if a.truncate is not None:
            data = data[:a.truncate] if a.truncate >= 0 else data[:len(data) + a.truncate]
        with open(out, "wb") as f:
            f.write(data)
    if a.truncate_external is not None:
        if not a.external_data:
            sys.exit("onnx_from_text: --truncate-external needs --external-data")
        with open(os.path.join(os.path.dirname(out), a.external_data), "r+b") as f:
            f.truncate(a.truncate_external)


if __name__ == "__main__":
    main()
