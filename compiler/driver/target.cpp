// Default target choice: probes the NVIDIA driver with dlopen so that tsc itself never links CUDA.
#include "compiler/driver/target.h"

#include <dlfcn.h>

#include "compiler/driver/build.h"

namespace tsc {

bool gpu_usable_here(std::string* why) {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    *why = "no NVIDIA driver (libcuda.so.1 cannot be loaded)";
    return false;
  }
  // The driver API's entry points, by their stable C names (CUresult is an int enum; 0 = CUDA_SUCCESS).
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(lib, "cuDeviceGetCount"));
  int n = 0;
  bool ok = false;
  if (!init || !count) *why = "libcuda.so.1 lacks cuInit/cuDeviceGetCount";
  else if (int rc = init(0); rc != 0) *why = "the NVIDIA driver does not initialize (cuInit error " + std::to_string(rc) + ")";
  else if (int rc2 = count(&n); rc2 != 0 || n == 0) *why = "the NVIDIA driver sees no GPU";
  else {
    *why = std::to_string(n) + " GPU" + (n > 1 ? "s" : "") + " usable";
    ok = true;
  }
  dlclose(lib);
  return ok;
}

TargetChoice choose_target(const CompileOptions& opt) {
  if (opt.target) return {*opt.target, "--target " + target_name(*opt.target)};
  if (!nvcc_available()) return {Target::kCpu, "no nvcc on PATH, or tsc was built without CUDA"};
  std::string why;
  if (!gpu_usable_here(&why)) return {Target::kCpu, "nvcc found, but " + why + " here; pass --target cuda to build for a GPU machine"};
  return {Target::kCuda, "nvcc found and " + why};
}

}  // namespace tsc
