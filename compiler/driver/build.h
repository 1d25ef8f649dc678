// The toolchain stages: generated kernels compiled (cached) and linked with the runtime libraries.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/options.h"
#include "compiler/plan/plan.h"

namespace tsc {

// How to compile and link for a target: read from <libdir>/tsc_<target>.link, written by CMake.
struct Toolchain {
  std::string lib_dir, source_dir, cxx, nvcc, compile_flags, link_libs;
};
Toolchain find_toolchain(Target target);
bool nvcc_available();

// Runs a shell command (stderr folded into stdout) and returns its output; on failure throws tsc::Error
// saying `what` failed, with the output's tail.
std::string run_command(const std::string& cmd, const std::string& what, bool verbose, std::ostream& log);
std::string shell_quote(const std::string& s);

// PTX (sm_90) of every generated CUDA kernel, for --emit=ptx, from `cuda_compiler` (nvcc | clang).
std::string emit_ptx(const KernelPlan& plan, const std::string& model_name, CudaCompiler cuda_compiler);

// Compiles the generated source of `target` (cpu | cuda; CUDA with `cuda_compiler`, nvcc | clang) into an
// object, cached under $TSC_CACHE_DIR by the hash of source, compiler and its version, flags and templates
// (contents, not this machine's paths, so that a cache filled on one machine serves another); returns the
// object's path.
std::string compile_kernels(Target target, const std::string& source, const KernelPlan& plan, CudaCompiler cuda_compiler,
                            bool verbose, std::ostream& log);

// Links kernel objects with `target`'s runtime libraries into the executable image `out` (no payload yet).
void link_executable(Target target, const std::vector<std::string>& objects, const std::string& out, bool verbose, std::ostream& log);

}  // namespace tsc
