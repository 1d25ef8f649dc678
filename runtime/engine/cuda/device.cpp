// CUDA device checks and buffers, and the engine's device probes (cuda_device_usable, default KV memory).
#include "runtime/engine/cuda/device.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "contract/error.h"
#include "runtime/engine/backend.h"

namespace tsc::cuda {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  if (e == cudaErrorInsufficientDriver && access("/proc/driver/nvidia/version", R_OK) != 0)
    throw Error(std::string(what) + ": no NVIDIA driver is loaded on this machine, so no GPU is usable",
                "run this executable on a machine with an NVIDIA GPU and driver (check nvidia-smi), or rebuild with tsc --target cpu");
  if (e == cudaErrorInsufficientDriver)
    throw Error(std::string(what) + ": the NVIDIA driver is older than this executable's CUDA runtime (" + cudaGetErrorString(e) + ")",
                "update the NVIDIA driver, or rebuild with tsc --target cpu");
  if (e == cudaErrorNoDevice)
    throw Error(std::string(what) + ": no CUDA GPU is visible (" + cudaGetErrorString(e) + ")",
                "run this executable on a machine with an NVIDIA GPU (check nvidia-smi), or rebuild with tsc --target cpu");
  // Sticky errors leave the CUDA context unusable: every later call on this GPU fails too, so the engine is
  // done (the scheduler ends its requests, the router stops sending it work).
  switch (e) {
    case cudaErrorIllegalAddress: case cudaErrorLaunchFailure: case cudaErrorHardwareStackError: case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress: case cudaErrorInvalidAddressSpace: case cudaErrorInvalidPc: case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout:
      throw EngineFailure(std::string(what) + " failed: " + cudaGetErrorString(e) + " (the GPU's context is lost)",
                          "restart model_server; if it recurs on one GPU, leave that GPU out of --devices and report it");
    default:
      break;
  }
  throw Error(std::string(what) + " failed: " + cudaGetErrorString(e), "this is a bug in tsc's CUDA backend; please report it");
}

void check(cublasStatus_t e, const char* what) {
  if (e != CUBLAS_STATUS_SUCCESS) throw Error(std::string(what) + " failed: cuBLAS status " + std::to_string(static_cast<int>(e)), "check GPU memory and driver");
}

cudaDeviceProp open_device() {
  int n = 0;
  check(cudaGetDeviceCount(&n), "looking for a GPU");
  if (n == 0) check(cudaErrorNoDevice, "looking for a GPU");
  // The calling thread's current GPU (0 unless cuda_select_device chose another for this engine).
  int dev = 0;
  check(cudaGetDevice(&dev), "reading the current GPU");
  check(cudaSetDevice(dev), "selecting the GPU");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, dev), "reading the GPU's properties");
  if (prop.major < 8)
    throw Error(std::string("GPU '") + prop.name + "' has compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                    "; tsc's CUDA kernels need 8.0 (Ampere) or newer", "run on an A100/H100-class GPU, or rebuild with tsc --target cpu");
  return prop;
}

void check_kernel_table(const KernelTable& kt, const DecoderSpec& s, const BuildOptions& o) {
  auto want = [&](bool ok, const char* what, int64_t need, int64_t have) {
    if (!ok)
      throw Error(std::string("the linked CUDA kernels are specialized for ") + what + " " + std::to_string(have) + " but the model needs " + std::to_string(need),
                  "rebuild the executable with tsc; kernels and payload come from different builds");
  };
  want(kt.head_dim == s.head_dim, "head_dim", s.head_dim, kt.head_dim);
  want(kt.page_score == static_cast<int32_t>(o.page_score), "page score (0 bound, 1 sketch)", static_cast<int64_t>(o.page_score), kt.page_score);
  want(kt.page_size == o.page_size, "page_size", o.page_size, kt.page_size);
  want(kt.group == s.num_attention_heads / s.num_key_value_heads, "GQA group", s.num_attention_heads / s.num_key_value_heads, kt.group);
  want(kt.weight_dtype == static_cast<int32_t>(o.weight_dtype), "weight dtype", static_cast<int64_t>(o.weight_dtype), kt.weight_dtype);
  const int64_t q4 = s.quantization && s.quantization->bits == 4 ? s.quantization->block_size : 0;
  want(kt.q4_block == q4 && (q4 == 0 || (kt.gemv_q4 && kt.dequant_q4)), "4-bit block size", q4, kt.q4_block);
  const int64_t i8 = s.quantization && s.quantization->bits == 8 ? 1 : 0;
  want(kt.i8 == i8 && (i8 == 0 || (kt.gemv_i8 && kt.dequant_i8)), "8-bit weights (1: yes)", i8, kt.i8);
}

void DevBuf::reserve(size_t n, const char* what) {
  if (n <= bytes) return;
  if (p) cudaFree(p);
  p = nullptr;
  check(cudaMalloc(&p, n), what);
  bytes = n;
}

DevBuf::~DevBuf() {
  if (p) cudaFree(p);
}

bool PinnedBuf::reserve(size_t n) {
  if (n <= bytes) return false;
  if (p) cudaFreeHost(p);
  p = nullptr;
  check(cudaMallocHost(&p, n * 2), "allocating pinned host memory");
  bytes = n * 2;
  return true;
}

PinnedBuf::~PinnedBuf() {
  if (p) cudaFreeHost(p);
}

}  // namespace tsc::cuda

namespace tsc {

int64_t default_cuda_kv_memory(const Payload& payload) {
  size_t free_b = 0, total_b = 0;
  cuda::check(cudaMemGetInfo(&free_b, &total_b), "reading GPU memory");  // of the current GPU (cuda_select_device)
  // Weights (the payload's tensors) still to be uploaded, 1 GiB for activations and cuBLAS, 90% of the rest.
  const int64_t left = static_cast<int64_t>(free_b) - static_cast<int64_t>(payload.total_bytes()) - (int64_t{1} << 30);
  return std::max<int64_t>(left, int64_t{256} << 20) / 10 * 9;
}

bool cuda_device_usable(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaErrorInsufficientDriver && access("/proc/driver/nvidia/version", R_OK) != 0) *why = "no NVIDIA driver is loaded";
  else if (e == cudaErrorInsufficientDriver) *why = "the NVIDIA driver is older than this executable's CUDA runtime";
  else if (e != cudaSuccess || n == 0) *why = std::string("no CUDA GPU is visible (") + cudaGetErrorString(e == cudaSuccess ? cudaErrorNoDevice : e) + ")";
  else {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) *why = "GPU 0's properties cannot be read";
    else if (prop.major < 8) *why = std::string("GPU '") + prop.name + "' is older than compute capability 8.0";
    else {
      *why = std::string("GPU 0: ") + prop.name;
      return true;
    }
  }
  cudaGetLastError();  // a failed probe must not leave a sticky error for later calls
  return false;
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

void cuda_select_device(int device) {
  const int n = cuda_device_count();
  if (device < 0 || device >= n)
    throw Error("GPU " + std::to_string(device) + " does not exist: " + std::to_string(n) + " GPU(s) are visible", "pick indices below " + std::to_string(n) + " (check nvidia-smi and CUDA_VISIBLE_DEVICES), or use --devices all");
  cuda::check(cudaSetDevice(device), "selecting a GPU");
  cudaDeviceProp prop{};
  cuda::check(cudaGetDeviceProperties(&prop, device), "reading the GPU's properties");
  if (prop.major < 8)
    throw Error("GPU " + std::to_string(device) + " ('" + prop.name + "') has compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                    "; tsc's CUDA kernels need 8.0 (Ampere) or newer", "leave it out of --devices");
}

}  // namespace tsc
