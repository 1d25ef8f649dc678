// Which target tsc builds for when --target is not given: CUDA where a GPU is usable here, else the CPU.
#pragma once
#include <string>

#include "compiler/options.h"

namespace tsc {

struct TargetChoice {
  Target target = Target::kCpu;
  std::string why;     // one clause for `tsc: target X (why)`
};

// --target when given; else cuda when nvcc and the CUDA runtime libraries are here and a GPU with a loaded
// driver answers (probed through libcuda.so.1, without linking it), else cpu.
TargetChoice choose_target(const CompileOptions& opt);

// Whether a CUDA GPU is usable on this machine; `why` says what was found or what is missing.
bool gpu_usable_here(std::string* why);

}  // namespace tsc
