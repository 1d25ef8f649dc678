// EngineModel: the engine behind the scheduler's StepModel interface.
#include "runtime/engine/engine.h"
#include "runtime/sched/step_model.h"

namespace tsc {

void EngineModel::step(std::span<const StepSeq> seqs, std::vector<float>& logits) { e_.step(seqs, logits); }
KvManager& EngineModel::kv() { return e_.kv(); }
PagePool& EngineModel::pool() { return e_.pool(); }
int64_t EngineModel::vocab_size() const { return e_.spec().vocab_size; }
int64_t EngineModel::max_seq_len() const { return e_.options().max_seq_len; }
int64_t EngineModel::page_size() const { return e_.options().page_size; }
int64_t EngineModel::top_k_pages() const { return e_.options().top_k_pages; }
int64_t EngineModel::select_every() const { return e_.options().select_every; }
int64_t EngineModel::num_layers() const { return e_.spec().num_hidden_layers; }
int64_t EngineModel::dense_layers() const { return e_.options().dense_layers; }
int64_t EngineModel::page_bytes() const { return kv_page_bytes(e_.spec(), e_.options()); }
int64_t EngineModel::bound_bytes() const {
  const auto& s = e_.spec();
  return s.num_key_value_heads * 2 * s.head_dim * static_cast<int64_t>(dtype_size(e_.options().kv_dtype));
}
// Copied: the scheduler thread publishes it to the metrics readers.
SelectionCounters EngineModel::counters() const { return e_.backend().counters(); }

}  // namespace tsc
