// GraphCache: bucketing, capture and replay of decode steps.
#include "runtime/engine/cuda/graph_cache.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace tsc::cuda {

GraphCache::GraphCache(bool profiling) {
  if (const char* g = std::getenv("TSC_CUDA_GRAPHS")) enabled_ = std::string(g) != "0";
  if (profiling) enabled_ = false;
}

GraphCache::~GraphCache() {
  for (auto& [k, g] : graphs_)
    if (g.exec) cudaGraphExecDestroy(g.exec);
}

int64_t GraphCache::bucket(std::span<const StepSeq> seqs, int64_t max_batch) const {
  bool decode_only = !seqs.empty();
  for (auto& q : seqs) decode_only = decode_only && q.decode && !q.all_logits && q.budget == seqs[0].budget && !q.diag;
  const int64_t B = static_cast<int64_t>(seqs.size());
  if (!decode_only || !enabled_ || B > max_batch) return 0;
  int64_t b = 1;
  while (b < B) b *= 2;
  return std::min<int64_t>(b, max_batch);
}

void GraphCache::run(const Key& key, const void* host_meta, size_t meta_bytes, size_t meta_capacity, cudaStream_t stream,
                     const std::function<void(const int32_t*)>& launch) {
  Entry& g = graphs_[key];
  if (g.generation != generation_) {  // first use or buffers moved: re-capture
    if (g.exec) cudaGraphExecDestroy(g.exec);
    g.exec = nullptr;
    g.seen = 0;
    g.generation = generation_;
    g.meta.reserve(meta_capacity, "allocating graph metadata");
  }
  check(cudaMemcpyAsync(g.meta.p, host_meta, meta_bytes, cudaMemcpyHostToDevice, stream), "uploading step metadata");
  if (!g.exec && g.seen++ == 0) {  // the first step of a shape runs eagerly (one-time setup happens outside capture)
    launch(g.meta.as<int32_t>());
    check(cudaStreamSynchronize(stream), "running the step");
    return;
  }
  if (!g.exec) {
    cudaGraph_t graph = nullptr;
    check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "capturing a CUDA graph");
    capturing_ = true;
    launch(g.meta.as<int32_t>());
    capturing_ = false;
    check(cudaStreamEndCapture(stream, &graph), "capturing a CUDA graph");
    check(cudaGraphInstantiate(&g.exec, graph, 0), "instantiating a CUDA graph");
    cudaGraphDestroy(graph);
  }
  check(cudaGraphLaunch(g.exec, stream), "replaying a CUDA graph");
  check(cudaStreamSynchronize(stream), "running the step");
}

}  // namespace tsc::cuda
