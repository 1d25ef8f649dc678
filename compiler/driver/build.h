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
Toolchain find_toolchain(const std::string& target);
bool nvcc_available();

// PTX (sm_90) of every generated CUDA kernel, for --emit=ptx.
std::string emit_ptx(const KernelPlan& plan, const std::string& model_name);

// Compiles the generated source of `target` (cpu | cuda) into an object, cached under $TSC_CACHE_DIR by the
// hash of source, compiler, flags and templates; returns the object's path.
std::string compile_kernels(const std::string& target, const std::string& source, const KernelPlan& plan, bool verbose, std::ostream& log);

// Links kernel objects with `target`'s runtime libraries into the executable image `out` (no payload yet).
void link_executable(const std::string& target, const std::vector<std::string>& objects, const std::string& out, bool verbose, std::ostream& log);

}  // namespace tsc
