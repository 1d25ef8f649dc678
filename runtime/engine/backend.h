// The compute backend of the engine: one forward step over a batch of sequences (prefill chunks and
// decode tokens mixed), implemented by the CPU target (generated kernels) or the CUDA target.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "contract/error.h"
#include "contract/payload.h"
#include "runtime/kv/page_pool.h"

namespace tsc {

struct SelectDiag;  // select_diag.h
// A step error after which the engine cannot serve any more (a sticky CUDA error, a lost device; tests inject
// one with TSC_TEST_FAIL_ENGINE): the scheduler ends all its requests with it and takes no new ones, and the
// router (runtime/sched/router.h) stops sending it work. Other step errors end only that step's sequences.
class EngineFailure : public Error {
 public:
  using Error::Error;
};

struct StepSeq {
  SeqKv* kv = nullptr;              // pages already reserved for kv->num_tokens + n tokens
  const int32_t* tokens = nullptr;  // the n new tokens, appended at positions kv->num_tokens ...
  int64_t n = 0;
  bool decode = false;              // n == 1 through the paged decode path (where page selection acts)
  int64_t budget = 0;               // decode: pages kept per KV head and layer (0 = dense)
  bool all_logits = false;          // logits for every new token, else only the last
  // Decode: score pages every this many steps of the sequence and reuse its kept set in between
  // (--select-every; SeqKv::select holds the set); 1 scores every step.
  int64_t select_every = 1;
  // Decode: selection diagnostics (an ablation, a trace, a replay; select_diag.h), or null: the production path.
  SelectDiag* diag = nullptr;
};

struct SelectionCounters {
  int64_t decode_calls = 0;         // (sequence, layer) decode attentions
  int64_t pages_total = 0, pages_scored = 0, pages_kept = 0;  // summed over KV heads
  std::vector<int64_t> kept_per_layer, total_per_layer;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Runs the step; logits gets [rows, vocab], rows = Σ (all_logits ? n : 1) in sequence order.
  // Does not advance kv->num_tokens (the engine does, after the step).
  virtual void forward(std::span<const StepSeq> seqs, std::vector<float>& logits) = 0;
  // Like forward (no all_logits), returning the argmax token of each sequence (ties to the lowest id)
  // instead of logits; the CUDA backend computes it on the device and replays CUDA graphs.
  virtual void forward_greedy(std::span<const StepSeq> seqs, std::vector<int32_t>& ids);
  virtual const SelectionCounters& counters() const = 0;
  // Makes storage for page ids [0, n) resident (the CUDA backend maps GPU memory on demand).
  virtual void ensure_pages(int64_t n) {}
  // Copies page src to page dst in every layer (K, V and key bounds): copy-on-write of shared pages.
  virtual void copy_page(int32_t src, int32_t dst) = 0;
  virtual const char* name() const = 0;
  // Bytes of device memory in use (GPU), or -1 where it does not apply.
  virtual int64_t device_memory_used() const { return -1; }
};

// The CPU backend over the generated kernel table linked into this executable. num_pages counts storage
// pages, the scratch page 0 included (PagePool::storage_pages()).
std::unique_ptr<Backend> make_cpu_backend(const Payload& payload, int64_t num_pages);
// The CUDA backend (runtime/engine/cuda/, linked into CUDA-target executables only).
std::unique_ptr<Backend> make_cuda_backend(const Payload& payload, int64_t num_pages) __attribute__((weak));
// Bytes of GPU memory the KV cache takes by default: 90% of what the weights leave free, less 1 GiB.
int64_t default_cuda_kv_memory(const Payload& payload) __attribute__((weak));
// Whether GPU 0 can run this executable's CUDA kernels (driver loaded, a device of compute capability >= 8.0);
// `why` says what was found or what is missing. Linked with the CUDA backend only.
bool cuda_device_usable(std::string* why) __attribute__((weak));
// GPUs visible to this process (0 when none or no driver), and making GPU `device` the calling thread's current
// one (every CUDA call after it, on this thread, goes there; throws tsc::Error naming the index when it is not a
// usable GPU). The backend, its KV memory and its CUDA graphs live on the device current when they are made.
int cuda_device_count() __attribute__((weak));
void cuda_select_device(int device) __attribute__((weak));
// Whether this executable carries the CPU kernels (every CPU build, and CUDA builds as their fallback).
bool cpu_kernels_linked();

}  // namespace tsc
