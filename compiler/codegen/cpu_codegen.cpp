// Emits kernels_<key>.cpp for templates/cpu: the weight type is the build's dtype (f32, f16 or bf16 storage).
#include "compiler/codegen/cpu_codegen.h"

#include "compiler/codegen/kernel_source.h"

namespace tsc {

std::string generate_cpu_source(const KernelPlan& p, const std::string& model_name) {
  const char* weight = p.build.weight_dtype == DType::kF16 ? "tsc::cpu::f16_t" : p.build.weight_dtype == DType::kBF16 ? "tsc::cpu::bf16_t" : "float";
  return generate_kernel_source(p, model_name, {"CPU", "cpu", "templates/cpu/kernels.h", weight, false, true, true, "templates/cpu/select_ext.h"});
}

}  // namespace tsc
