# lit configuration for tsc's per-stage suites (import, simplify, lift, diagnostics); build paths come from lit.site.cfg.py.
import os

import lit.formats

config.name = "tsc"
# lit's own shell: the same behaviour on every machine, and a readable transcript when a RUN line fails.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test"]
# Inputs/ holds base models that tests derive from; they are not tests themselves.
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
source_dir = os.path.dirname(os.path.dirname(config.test_source_root))

# CMake writes lit.site.cfg.py into the build folder (test/lit/ under it). ctest passes its path with
# --param tsc_site=...; running `lit test/lit/<suite>` by hand from a checkout finds build/ by default.
if not hasattr(config, "tsc_build_dir"):
    site = lit_config.params.get("tsc_site") or os.environ.get("TSC_LIT_SITE") or os.path.join(
        source_dir, "build", "test", "lit", "lit.site.cfg.py")
    if not os.path.exists(site):
        lit_config.fatal(f"no lit.site.cfg.py at '{site}': configure the build first "
                         "(cmake -S . -B build -G Ninja) or pass --param tsc_site=BUILD/test/lit/lit.site.cfg.py")
    lit_config.load_config(config, site)

# Tests, tools and fixtures come from the checkout this file is in; a build configured from another checkout
# is allowed (worktrees) but worth a warning.
if os.path.isdir(getattr(config, "tsc_source_dir", "")) and not os.path.samefile(config.tsc_source_dir, source_dir):
    lit_config.warning(f"tsc was configured from {config.tsc_source_dir}; tests run from {source_dir}")
tsc = os.path.join(config.tsc_build_dir, "bin", "tsc")
if not os.path.exists(tsc):
    lit_config.fatal(f"'{tsc}' does not exist: build it first (ninja -C {config.tsc_build_dir} tsc)")

python = config.python_executable
tools = os.path.join(source_dir, "test", "tools")
config.substitutions += [
    ("%tsc", tsc),
    ("%fixtures", os.path.join(source_dir, "test", "Inputs", "fixtures")),
    ("%inputs", os.path.join(config.test_source_root, "Inputs")),
    ("%onnx_from_text", f"{python} {os.path.join(tools, 'onnx_from_text.py')}"),
    ("%check_spec", f"{python} {os.path.join(tools, 'check_spec.py')}"),
    ("%tools", tools),
    ("%python", python),
]

# FileCheck, not, split-file and count from LLVM 19, ahead of anything else on PATH.
config.environment["PATH"] = os.pathsep.join([config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
# Python tools must not pick up a user's site customizations or write bytecode into the source tree.
config.environment["PYTHONDONTWRITEBYTECODE"] = "1"

# PTX tests need nvcc (CUDA Toolkit), not a GPU.
import shutil
if shutil.which("nvcc", path=config.environment.get("PATH")) or shutil.which("nvcc"):
    config.available_features.add("nvcc")
# The same PTX through LLVM's NVPTX back end (tsc --cuda-compiler clang) needs clang-19 as well (or $TSC_CLANG).
if os.environ.get("TSC_CLANG") or shutil.which("clang++-19"):
    config.available_features.add("clang-19")
    if os.environ.get("TSC_CLANG"):
        config.environment["TSC_CLANG"] = os.environ["TSC_CLANG"]
