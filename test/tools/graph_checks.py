#!/usr/bin/env python3
# graph_checks: turns `tsc --emit=graph` output into FileCheck lines that pin the dataflow (like LLVM's update_test_checks.py).
"""Usage: tsc MODEL --emit=graph | graph_checks.py [--prefix CHECK] [--keep-names]

Every line becomes CHECK-NEXT (the first CHECK-LABEL), so an added, lost or reordered node fails the test.
Intermediate value names become FileCheck variables ([[V3:%[^ ]+]] where defined, [[V3]] where used): the
test then pins which node reads which value, not the exporter's names. Graph inputs and outputs, constant
names ($...) and inline constants stay literal, because they are what the model's users and weights see.
--keep-names keeps intermediate names literal too.
"""
import argparse
import re
import sys



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefix", default="CHECK")
    ap.add_argument("--keep-names", action="store_true")
    a = ap.parse_args()
    lines = sys.stdin.read().splitlines()
    io = set()
    for l in lines:
        m = re.match(r"\s+(input|output) %(\S+): ", l)
        if m:
            io.add(m.group(2))
    var = {}
    out = []
    for i, l in enumerate(lines):
        body = l.strip()
        # FileCheck syntax inside literal text: [[ and {{ would start variables or regexes.
        body = body.replace("{{", "{{[{][{]}}").replace("[[", "{{\\[\\[}}")
        m = re.match(r"(.*?) = (.*)$", body) if not body.startswith(("graph ", "opset ", "input ", "output ")) else None
        if m and not a.keep_names:
            defs, rest = m.groups()

            def define(mm):
                name = mm.group(1)
                if name in io:
                    return "%" + name
                var[name] = f"V{len(var)}"
                return f"[[{var[name]}:%[^ ]+]]"

            def use(mm):
                name = mm.group(1)
                return f"[[{var[name]}]]" if name in var else "%" + name

            defs = re.sub(r"%([^ ]+?)(?=: )", define, defs)
            rest = re.sub(r"%([^\s,()]+)", use, rest)
            body = f"{defs} = {rest}"
        kind = f"{a.prefix}-LABEL" if i == 0 else f"{a.prefix}-NEXT"
        out.append(f"{kind}: {body}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
