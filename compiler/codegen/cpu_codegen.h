// CPU code generation: a C++ file holding the plan's constants and one instantiation of the CPU templates.
#pragma once
#include <string>

#include "compiler/plan/plan.h"

namespace tsc {

std::string generate_cpu_source(const KernelPlan& plan, const std::string& model_name);

}  // namespace tsc
