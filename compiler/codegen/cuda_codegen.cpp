// Emits kernels_<key>.cu for templates/cuda: weights are half unless the build asks for bf16 (f32 builds
// store half on the GPU), and the kernels also specialize on the norm and activation kinds.
#include "compiler/codegen/cuda_codegen.h"

#include "compiler/codegen/kernel_source.h"

namespace tsc {

std::string generate_cuda_source(const KernelPlan& p, const std::string& model_name) {
  const char* weight = p.build.weight_dtype == DType::kBF16 ? "__nv_bfloat16" : "half";
  return generate_kernel_source(p, model_name, {"CUDA", "cuda", "templates/cuda/kernels.cuh", weight, true, true, true});
}

}  // namespace tsc
