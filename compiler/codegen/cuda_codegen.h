// CUDA code generation: a .cu file holding the plan's constants and one instantiation of templates/cuda.
#pragma once
#include <string>

#include "compiler/plan/plan.h"

namespace tsc {

std::string generate_cuda_source(const KernelPlan& plan, const std::string& model_name);

}  // namespace tsc
