// The paged KV cache in GPU memory: per layer a K, a V, a key-bounds and a page-score summary array over every page id,
// address space reserved up front and physical memory mapped as pages are first used (CUDA VMM).
#pragma once
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

class KvMemory {
 public:
  // num_pages storage pages (the scratch page 0 included) of page_bytes (K or V: [hkv, page, head_dim]),
  // bound_bytes (key bounds: [hkv, 2, head_dim]) and summary_bytes (the page score's summary: [hkv, summary_words]
  // uint32; 0: none) per layer; page 0 is mapped at once.
  KvMemory(int64_t num_layers, int64_t num_pages, size_t page_bytes, size_t bound_bytes, size_t summary_bytes, int32_t num_kv_heads);
  ~KvMemory();
  KvMemory(const KvMemory&) = delete;
  KvMemory& operator=(const KvMemory&) = delete;

  const KvLayerDev& layer(int64_t l) const { return layers_[static_cast<size_t>(l)]; }
  // Makes page ids [0, n) resident.
  void ensure_pages(int64_t n);
  // Copies page src to dst in every layer (K, V, bounds, summary), on `stream`: copy-on-write of a shared page.
  void copy_page(int32_t src, int32_t dst, cudaStream_t stream);

 private:
  // CUDA virtual memory management through driver entry points (no link-time libcuda dependency).
  struct Vmm {
    using Reserve = CUresult (*)(CUdeviceptr*, size_t, size_t, CUdeviceptr, unsigned long long);
    using Create = CUresult (*)(CUmemGenericAllocationHandle*, size_t, const CUmemAllocationProp*, unsigned long long);
    using Map = CUresult (*)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
    using Access = CUresult (*)(CUdeviceptr, size_t, const CUmemAccessDesc*, size_t);
    using Gran = CUresult (*)(size_t*, const CUmemAllocationProp*, CUmemAllocationGranularity_flags);
    Reserve reserve = nullptr;
    Create create = nullptr;
    Map map = nullptr;
    Access access = nullptr;
    size_t granularity = 0;
    CUmemAllocationProp prop{};
    static Vmm load();
    bool ok() const { return reserve != nullptr; }
  };
  // One reserved array; grow maps physical memory up to a page count.
  struct KvArray {
    CUdeviceptr base = 0;
    size_t elem_bytes = 0, reserved = 0, mapped = 0;
    void grow(int64_t pages, const Vmm& vmm);
  };
  // One array of num_pages_ pages: reserved address space where the driver supports it, else cudaMalloc.
  void* array(size_t elem_bytes);

  int64_t num_pages_;
  size_t page_bytes_, bound_bytes_, summary_bytes_;
  Vmm vmm_;
  std::vector<KvArray> arrays_;
  std::vector<void*> owned_;  // cudaMalloc fallback arrays
  std::vector<KvLayerDev> layers_;
  int64_t mapped_pages_ = 0;
};

}  // namespace tsc::cuda
