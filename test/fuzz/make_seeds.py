#!/usr/bin/env python3
# make_seeds: seed corpus for fuzz_import from the repository's own models: fixtures up to a size limit (every
# form of the hub-layout ones: fp16 Cast islands, MatMulNBits, DynamicQuantizeLinear + MatMulInteger) and
# the onnxruntime-genai builder's forms (GroupQueryAttention, SimplifiedLayerNormalization), and
# every ONNX-text model of the lit suites (test/lit/Inputs/*.onnxtxt and the `#--- *.txt` parts of tests).
"""Usage: make_seeds.py OUT_DIR [--max-bytes N]"""
import argparse
import glob
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "tools"))
import onnx  # noqa: E402
import onnx.parser  # noqa: E402
from onnx_from_text import apply_inits, to_raw  # noqa: E402


def text_models():
    for p in sorted(glob.glob(os.path.join(ROOT, "test", "lit", "Inputs", "*.onnxtxt"))):
        yield os.path.basename(p)[:-8], open(p).read()
    for p in sorted(glob.glob(os.path.join(ROOT, "test", "lit", "*", "*.test"))):
        text = open(p).read()
        # split-file parts: "#--- name.txt" up to the next marker
        parts = re.split(r"^#--- (\S+)\n", text, flags=re.M)
        for name, body in zip(parts[1::2], parts[2::2]):
            if name.endswith(".txt"):
                yield f"{os.path.basename(p)[:-5]}.{name[:-4]}", body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--max-bytes", type=int, default=1 << 20)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    n = 0
    fixtures = os.path.join(ROOT, "test", "Inputs", "fixtures")
    for f in sorted(glob.glob(os.path.join(fixtures, "*", "model.onnx")) + glob.glob(os.path.join(fixtures, "*", "onnx", "*.onnx"))):
        if os.path.getsize(f) <= a.max_bytes:
            # NAME.onnx, or NAME.FORM.onnx for NAME/onnx/FORM.onnx
            rel = os.path.relpath(f, fixtures).replace(os.sep + "onnx" + os.sep, ".").replace(os.sep + "model.onnx", ".onnx")
            shutil.copy(f, os.path.join(a.out, rel))
            n += 1
    # onnxruntime-genai builder forms (NAME/FORM/model.onnx + model.onnx.data): self-contained as NAME.FORM.onnx.
    for f in sorted(glob.glob(os.path.join(fixtures, "*", "*", "model.onnx"))):
        form_dir = os.path.dirname(f)
        if os.path.basename(form_dir) == "onnx" or not os.path.exists(os.path.join(form_dir, "genai_config.json")):
            continue
        m = onnx.load(f)
        if m.ByteSize() <= a.max_bytes:
            onnx.save(m, os.path.join(a.out, os.path.relpath(form_dir, fixtures).replace(os.sep, ".") + ".onnx"))
            n += 1
    for name, text in text_models():
        try:
            m = onnx.parser.parse_model(text)
            apply_inits(m, text)
        except Exception:
            continue  # parts that are not models
        # Both tensor encodings: the parser's typed fields and exporters' raw_data.
        onnx.save(m, os.path.join(a.out, name + ".onnx"))
        to_raw(m)
        onnx.save(m, os.path.join(a.out, name + ".raw.onnx"))
        n += 2
    print(f"make_seeds: {n} seeds in {a.out}")


if __name__ == "__main__":
    main()
