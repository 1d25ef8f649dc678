#!/usr/bin/env python3
# check_layers: every #include "..." between source folders must follow the layers (DESIGN.md, "Layers");
# an include against them fails ctest `layers.includes` with the file, the include and the allowed folders.
"""Usage: check_layers.py [SOURCE_ROOT]"""
import os
import re
import sys

# contract/ is what the compiler writes and the runtime reads; it includes nothing else of the project, and the
# compiler includes nothing of runtime/.
CONTRACT = ["contract"]
CORE = CONTRACT + ["runtime/core"]
# Folder -> the folders its files may include (besides their own). A folder is the first two path components
# (runtime/engine/cuda/x.h is in runtime/engine); compiler/*.h and contract/*.h at the top are "compiler", "contract".
ALLOWED = {
    "contract": [],
    "runtime/core": CONTRACT,
    "runtime/kv": CORE,
    "runtime/sample": CORE,
    "runtime/tokenizer": CORE,
    "runtime/chat": CORE + ["runtime/tokenizer"],
    "runtime/engine": CORE + ["runtime/kv", "templates/cpu", "templates/cuda"],
    "runtime/sched": CORE + ["runtime/kv", "runtime/engine", "runtime/sample"],
    "runtime/server": CORE + ["runtime/kv", "runtime/engine", "runtime/sample", "runtime/sched", "runtime/tokenizer", "runtime/chat"],
    "runtime/app": CORE + ["runtime/kv", "runtime/engine", "runtime/sample", "runtime/sched", "runtime/tokenizer", "runtime/chat",
                           "runtime/server"],
    "compiler": CONTRACT,
    "compiler/ir": CONTRACT,
    "compiler/onnx": CONTRACT + ["compiler/ir"],
    "compiler/lift": CONTRACT + ["compiler/ir"],
    "compiler/plan": CONTRACT + ["compiler"],
    "compiler/codegen": CONTRACT + ["compiler", "compiler/plan"],
    "compiler/driver": CONTRACT + ["compiler", "compiler/ir", "compiler/onnx", "compiler/lift", "compiler/plan", "compiler/codegen"],
    "templates/cpu": [],
    "templates/cuda": [],
}
# Known crossings with the issue that removes them. Each entry: (file, included folder).
EXCEPTIONS = set()


def folder(path):
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    bad, files = [], 0
    for top in ("contract", "compiler", "runtime", "templates"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if not n.endswith((".h", ".cpp", ".cuh", ".cu")):
                    continue
                rel = os.path.relpath(os.path.join(d, n), root)
                src = folder(rel)
                if src not in ALLOWED:
                    bad.append(f"{rel}: folder {src} has no entry in check_layers.py's ALLOWED table")
                    continue
                files += 1
                with open(os.path.join(root, rel), encoding="utf-8") as f:
                    for i, line in enumerate(f, 1):
                        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                        if not m or "/" not in m.group(1) or not m.group(1).startswith(("contract/", "compiler/", "runtime/", "templates/")):
                            continue
                        dst = folder(m.group(1))
                        if dst != src and dst not in ALLOWED[src] and (rel, dst) not in EXCEPTIONS:
                            bad.append(f"{rel}:{i}: includes {m.group(1)}, but {src} may include only {', '.join(ALLOWED[src]) or 'itself'}")
    for b in bad:
        print(b)
    print(f"check_layers: {files} files, {len(bad)} include(s) against the layers")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
