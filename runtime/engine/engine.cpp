// Engine: page reservation around backend steps.
#include "runtime/engine/engine.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "contract/error.h"

namespace tsc {

int64_t kv_page_bytes(const DecoderSpec& s, const BuildOptions& o) {
  const int64_t per_layer = s.num_key_value_heads * s.head_dim * (2 * o.page_size + 2) * static_cast<int64_t>(dtype_size(o.kv_dtype));
  return per_layer * s.num_hidden_layers;
}

int64_t kv_pool_pages(const DecoderSpec& s, const BuildOptions& o, const EngineOptions& e) {
  if (e.kv_pages > 0) return e.kv_pages;
  const int64_t worst = o.max_batch * ((o.max_seq_len + o.page_size - 1) / o.page_size);
  const int64_t memory = e.kv_memory > 0 ? e.kv_memory : (int64_t{4} << 30);
  return std::max<int64_t>(1, std::min(worst, memory / kv_page_bytes(s, o)));
}

namespace {

// The target this process runs: the payload's, except that a CUDA executable falls back to the CPU kernels
// it also carries when no GPU is usable (or TSC_DEVICE=cpu asks for them), saying so once on stderr.
Target running_target(const Payload& p, int device) {
  const Target built = p.options().target;
  const char* env = std::getenv("TSC_DEVICE");
  const std::string want = env && *env ? env : "auto";
  if (want != "auto" && want != "cpu" && want != "cuda")
    throw Error("TSC_DEVICE=" + want + " is not a device choice", "use TSC_DEVICE=auto (default), cpu or cuda");
  if (built != Target::kCuda) {
    if (want == "cuda") throw Error("TSC_DEVICE=cuda, but this executable was built for the CPU only", "rebuild it with tsc --target cuda");
    if (device != 0) throw Error("GPU " + std::to_string(device) + " was asked for, but this executable was built for the CPU only", "use --replicas N on the CPU");
    return built;
  }
  std::string why = "TSC_DEVICE=cpu";
  if (want != "cpu") {
    if (make_cuda_backend && cuda_device_usable && cuda_device_usable(&why)) {
      // Everything the engine makes from here on (weights, KV memory, streams, graphs) lands on this GPU.
      if (cuda_select_device) cuda_select_device(device);
      return Target::kCuda;
    }
    if (!make_cuda_backend) why = "this runtime has no CUDA backend";
    if (want == "cuda") throw Error("TSC_DEVICE=cuda, but no GPU is usable: " + why, "run on a machine with an NVIDIA GPU and driver (check nvidia-smi), or unset TSC_DEVICE");
  }
  if (device != 0)
    throw Error("GPU " + std::to_string(device) + " was asked for, but this process runs on the CPU (" + why + ")",
                "use --devices only with a CUDA executable on a machine with GPUs; on the CPU use --replicas N");
  if (!cpu_kernels_linked())
    throw Error("no GPU is usable (" + why + ") and this executable carries no CPU kernels", "run it on a machine with an NVIDIA GPU, or rebuild it with this tsc (CUDA builds carry a CPU fallback)");
  std::cerr << "model_server: " << why << "; running on the CPU kernels this executable also carries (slower than the GPU)\n";
  return Target::kCpu;
}

// The build options as this process runs them: the CPU kernels keep the KV cache in float32.
BuildOptions running_options(const Payload& p, Target target) {
  BuildOptions o = p.options();
  if (o.target != target) {
    o.target = target;
    o.kv_dtype = DType::kF32;
  }
  return o;
}

EngineOptions with_default_memory(const BuildOptions& o, const Payload& p, EngineOptions opt) {
  if (opt.kv_pages == 0 && opt.kv_memory == 0 && o.target == Target::kCuda && default_cuda_kv_memory)
    opt.kv_memory = default_cuda_kv_memory(p);
  return opt;
}

}  // namespace

Engine::Engine(std::unique_ptr<Payload> payload, const EngineOptions& opt)
    : payload_(std::move(payload)),
      options_(running_options(*payload_, running_target(*payload_, opt.device))),
      pool_(kv_pool_pages(payload_->spec(), options_, with_default_memory(options_, *payload_, opt))),
      kv_(pool_, options_.page_size) {
  const Target t = options_.target;
  if (t == Target::kCpu) backend_ = make_cpu_backend(*payload_, pool_.storage_pages());
  else if (t == Target::kCuda && make_cuda_backend) backend_ = make_cuda_backend(*payload_, pool_.storage_pages());
  else throw Error("this runtime cannot run target '" + target_name(t) + "'", "rebuild the executable with tsc for this machine");
}

void Backend::forward_greedy(std::span<const StepSeq> seqs, std::vector<int32_t>& ids) {
  std::vector<float> logits;
  forward(seqs, logits);
  const size_t V = seqs.empty() ? 0 : logits.size() / seqs.size();
  ids.resize(seqs.size());
  for (size_t r = 0; r < seqs.size(); ++r) {
    const float* row = logits.data() + r * V;
    ids[r] = static_cast<int32_t>(std::max_element(row, row + V) - row);  // first maximum: lowest id
  }
}

void Engine::step_greedy(std::span<const StepSeq> seqs, std::vector<int32_t>& ids) {
  for (auto& s : seqs)
    if (s.all_logits) throw Error("step_greedy needs the last token's logits only", "this is a bug in the runtime");
  prepare(seqs);
  backend_->forward_greedy(seqs, ids);
  for (auto& s : seqs) s.kv->num_tokens += s.n;
}

void Engine::step(std::span<const StepSeq> seqs, std::vector<float>& logits) {
  prepare(seqs);
  backend_->forward(seqs, logits);
  for (auto& s : seqs) s.kv->num_tokens += s.n;
}

void Engine::prepare(std::span<const StepSeq> seqs) {
  // A sequence about to write into a page it shares (prefix reuse) gets its own copy first (kv/).
  int64_t need = 0;
  for (auto& s : seqs) need += kv_.pages_for_write(*s.kv, s.n);
  if (need > pool_.free_pages())
    throw Error("the KV cache is full: this step needs " + std::to_string(need) + " pages, " + std::to_string(pool_.free_pages()) + " are free",
                "serve fewer or shorter sequences at once, or give the server more KV memory");
  for (auto& s : seqs) {
    if (s.kv->num_tokens + s.n > options().max_seq_len)
      throw Error("sequence of " + std::to_string(s.kv->num_tokens + s.n) + " tokens exceeds max_seq_len " + std::to_string(options().max_seq_len),
                  "use shorter inputs, or rebuild with a larger --max-seq-len");
    kv_.reserve_for_write(*s.kv, s.n, [&](int32_t src, int32_t dst) { backend_->copy_page(src, dst); });
  }
  backend_->ensure_pages(pool_.high_water());
}

}  // namespace tsc
