// KvMemory: reserve, map on demand and copy pages of the GPU's paged KV cache.
#include "runtime/engine/cuda/kv_memory.h"

#include <algorithm>
#include <string>

#include "contract/error.h"
#include "runtime/engine/cuda/device.h"

namespace tsc::cuda {

KvMemory::Vmm KvMemory::Vmm::load() {
  Vmm v;
  auto get = [](const char* name, void** fn) {
    cudaDriverEntryPointQueryResult q;
    return cudaGetDriverEntryPoint(name, fn, cudaEnableDefault, &q) == cudaSuccess && q == cudaDriverEntryPointSuccess && *fn;
  };
  Gran gran = nullptr;
  if (!get("cuMemAddressReserve", reinterpret_cast<void**>(&v.reserve)) || !get("cuMemCreate", reinterpret_cast<void**>(&v.create)) ||
      !get("cuMemMap", reinterpret_cast<void**>(&v.map)) || !get("cuMemSetAccess", reinterpret_cast<void**>(&v.access)) ||
      !get("cuMemGetAllocationGranularity", reinterpret_cast<void**>(&gran)))
    return Vmm{};
  v.prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  v.prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  int dev = 0;
  check(cudaGetDevice(&dev), "reading the current GPU");
  v.prop.location.id = dev;  // the engine's GPU (made current by cuda_select_device before the backend)
  if (gran(&v.granularity, &v.prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM) != CUDA_SUCCESS) return Vmm{};
  return v;
}

void KvMemory::KvArray::grow(int64_t pages, const Vmm& vmm) {
  const size_t want = static_cast<size_t>(pages) * elem_bytes;
  if (want <= mapped) return;
  const size_t g = vmm.granularity;
  const size_t to = std::min(reserved, (want + g - 1) / g * g);
  CUmemGenericAllocationHandle h;
  if (vmm.create(&h, to - mapped, &vmm.prop, 0) != CUDA_SUCCESS)
    throw Error("out of GPU memory growing the KV cache to " + std::to_string(pages) + " pages", "serve fewer or shorter sequences, or lower --kv-memory");
  if (vmm.map(base + mapped, to - mapped, 0, h, 0) != CUDA_SUCCESS) throw Error("mapping KV-cache memory failed", "this is a bug in tsc's CUDA backend");
  CUmemAccessDesc acc{};
  acc.location = vmm.prop.location;
  acc.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  if (vmm.access(base + mapped, to - mapped, &acc, 1) != CUDA_SUCCESS) throw Error("enabling KV-cache memory failed", "this is a bug in tsc's CUDA backend");
  mapped = to;
}

KvMemory::KvMemory(int64_t num_layers, int64_t num_pages, size_t page_bytes, size_t bound_bytes, size_t summary_bytes, int32_t num_kv_heads)
    : num_pages_(num_pages), page_bytes_(page_bytes), bound_bytes_(bound_bytes), summary_bytes_(summary_bytes), vmm_(Vmm::load()) {
  // Address space for every page up front; physical memory mapped as pages are first used (ensure_pages),
  // so a large --kv-memory costs nothing until the cache fills.
  for (int64_t l = 0; l < num_layers; ++l) {
    void* k = array(page_bytes_);
    void* v = array(page_bytes_);
    void* b = array(bound_bytes_);
    auto* s = summary_bytes_ > 0 ? static_cast<uint32_t*>(array(summary_bytes_)) : nullptr;
    layers_.push_back(KvLayerDev{k, v, b, num_kv_heads, s});
  }
  ensure_pages(1);
}

KvMemory::~KvMemory() {
  for (void* p : owned_) cudaFree(p);
}

void* KvMemory::array(size_t elem_bytes) {
  if (!vmm_.ok()) {
    void* p = nullptr;
    check(cudaMalloc(&p, elem_bytes * num_pages_), "allocating the KV cache (lower --kv-memory)");
    owned_.push_back(p);
    return p;
  }
  KvArray a;
  a.elem_bytes = elem_bytes;
  a.reserved = (elem_bytes * num_pages_ + vmm_.granularity - 1) / vmm_.granularity * vmm_.granularity;
  if (vmm_.reserve(&a.base, a.reserved, 0, 0, 0) != CUDA_SUCCESS)
    throw Error("reserving address space for the KV cache failed", "lower --kv-memory");
  arrays_.push_back(a);
  return reinterpret_cast<void*>(a.base);
}

void KvMemory::ensure_pages(int64_t n) {
  if (n <= mapped_pages_) return;
  for (auto& a : arrays_) a.grow(n, vmm_);
  mapped_pages_ = n;
}

void KvMemory::copy_page(int32_t src, int32_t dst, cudaStream_t stream) {
  const size_t pb = page_bytes_, bb = bound_bytes_;
  for (auto& L : layers_) {
    check(cudaMemcpyAsync(static_cast<char*>(L.k) + dst * pb, static_cast<char*>(L.k) + src * pb, pb, cudaMemcpyDeviceToDevice, stream), "copying a KV page");
    check(cudaMemcpyAsync(static_cast<char*>(L.v) + dst * pb, static_cast<char*>(L.v) + src * pb, pb, cudaMemcpyDeviceToDevice, stream), "copying a KV page");
    check(cudaMemcpyAsync(static_cast<char*>(L.bounds) + dst * bb, static_cast<char*>(L.bounds) + src * bb, bb, cudaMemcpyDeviceToDevice, stream), "copying a KV page");
    if (L.summary)
      check(cudaMemcpyAsync(reinterpret_cast<char*>(L.summary) + dst * summary_bytes_, reinterpret_cast<char*>(L.summary) + src * summary_bytes_, summary_bytes_,
                            cudaMemcpyDeviceToDevice, stream), "copying a KV page");
  }
}

}  // namespace tsc::cuda
