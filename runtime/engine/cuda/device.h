// CUDA device checks: error translation (one-line errors with hints), the GPU and kernel-table checks a
// backend runs at start, and growable device / pinned host buffers.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>

#include "contract/payload.h"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

// Throws tsc::Error naming `what` (a missing driver, no GPU, an old driver, else a backend bug).
void check(cudaError_t e, const char* what);
void check(cublasStatus_t e, const char* what);

// Selects GPU 0 and returns its properties; throws when there is none or it is older than sm_80.
cudaDeviceProp open_device();

// Throws unless the linked kernels were specialized for this payload (head dim, page size, GQA group,
// weight dtype) and implement its page score.
void check_kernel_table(const KernelTable& kt, const DecoderSpec& s, const BuildOptions& o);

// Device buffer that grows on demand (contents not preserved).
struct DevBuf {
  void* p = nullptr;
  size_t bytes = 0;
  void reserve(size_t n, const char* what);
  ~DevBuf();
  template <typename X> X* as() const { return static_cast<X*>(p); }
};

// Pinned host buffer that grows to twice the asked size (contents not preserved); reserve says whether it moved.
struct PinnedBuf {
  void* p = nullptr;
  size_t bytes = 0;
  bool reserve(size_t n);
  ~PinnedBuf();
};

}  // namespace tsc::cuda
