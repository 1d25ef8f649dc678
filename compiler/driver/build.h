// Building the executable: generated kernels compiled (cached), linked with the runtime libraries,
// payload (weights, spec, build options, tokenizer) appended.
#pragma once
#include <iosfwd>
#include <string>

#include "compiler/driver/pipeline.h"
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

void build_executable(const CompileOptions& opt, const FrontEndResult& fe, const KernelPlan& plan, std::ostream& log);

}  // namespace tsc
