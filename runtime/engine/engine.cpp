// Engine: page reservation around backend steps.
#include "runtime/engine/engine.h"

#include "runtime/core/error.h"

namespace tsc {

int64_t default_kv_pages(const BuildOptions& o) {
  return o.max_batch * ((o.max_seq_len + o.page_size - 1) / o.page_size);
}

Engine::Engine(std::unique_ptr<Payload> payload, const EngineOptions& opt)
    : payload_(std::move(payload)),
      pool_(opt.kv_pages > 0 ? opt.kv_pages : default_kv_pages(payload_->options())),
      kv_(pool_, payload_->options().page_size) {
  const std::string& t = payload_->options().target;
  if (t == "cpu") backend_ = make_cpu_backend(*payload_, pool_.num_pages());
  else throw Error("this runtime cannot run target '" + t + "'", "rebuild the executable with tsc for this machine");
}

void Engine::step(std::span<const StepSeq> seqs, std::vector<float>& logits) {
  int64_t need = 0;
  for (auto& s : seqs) need += kv_.pages_needed(*s.kv, s.n);
  if (need > pool_.free_pages())
    throw Error("the KV cache is full: this step needs " + std::to_string(need) + " pages, " + std::to_string(pool_.free_pages()) + " are free",
                "serve fewer or shorter sequences at once, or give the server more KV memory");
  for (auto& s : seqs) {
    if (s.kv->num_tokens + s.n > options().max_seq_len)
      throw Error("sequence of " + std::to_string(s.kv->num_tokens + s.n) + " tokens exceeds max_seq_len " + std::to_string(options().max_seq_len),
                  "use shorter inputs, or rebuild with a larger --max-seq-len");
    kv_.reserve(*s.kv, s.n);
  }
  backend_->forward(seqs, logits);
  for (auto& s : seqs) s.kv->num_tokens += s.n;
}

}  // namespace tsc
