// The engine: payload + KV page pool + backend. Sequences are created, stepped (prefill chunks and
// decode tokens batched together) and freed here; scheduling policy lives in runtime/sched.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "contract/payload.h"
#include "runtime/engine/backend.h"
#include "runtime/kv/page_pool.h"

namespace tsc {

struct EngineOptions {
  int64_t kv_pages = 0;   // explicit page count; 0 = derived from kv_memory
  int64_t kv_memory = 0;  // bytes for the KV cache; 0 = CPU: 4 GiB, CUDA: 90% of what the weights leave; never more than max_batch x max_seq_len needs
  int device = 0;         // CUDA target: the GPU this engine lives on (serve --devices); made current on the constructing thread
};

class Engine {
 public:
  Engine(std::unique_ptr<Payload> payload, const EngineOptions& opt);
  const DecoderSpec& spec() const { return payload_->spec(); }
  // The build options as this process runs them (a CUDA executable on its CPU fallback: target cpu, f32 KV).
  const BuildOptions& options() const { return options_; }
  const Payload& payload() const { return *payload_; }
  KvManager& kv() { return kv_; }
  PagePool& pool() { return pool_; }
  Backend& backend() { return *backend_; }

  // Reserves pages (copying a shared, partly filled last page before writing into it), runs the backend
  // and advances each sequence's token count. Throws tsc::Error (nothing changed) when the pool lacks
  // pages; the scheduler checks capacity (pages_needed + 1 for a shared tail) before calling.
  void step(std::span<const StepSeq> seqs, std::vector<float>& logits);
  // The same step returning each sequence's greedy (argmax) token: on the GPU only ids come back.
  void step_greedy(std::span<const StepSeq> seqs, std::vector<int32_t>& ids);

 private:
  void prepare(std::span<const StepSeq> seqs);  // page reservation and copy-on-write
  std::unique_ptr<Payload> payload_;
  BuildOptions options_;
  PagePool pool_;
  KvManager kv_;
  std::unique_ptr<Backend> backend_;
};

// Bytes one page takes across all layers (K, V and key bounds).
int64_t kv_page_bytes(const DecoderSpec& s, const BuildOptions& o);
// Pages of the pool for these options.
int64_t kv_pool_pages(const DecoderSpec& s, const BuildOptions& o, const EngineOptions& e);

}  // namespace tsc
