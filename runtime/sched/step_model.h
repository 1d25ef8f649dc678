// What the scheduler drives: one forward step over a batch of sequences plus the KV pool it draws on.
// The engine implements it (EngineModel); unit tests substitute a fake with the same page semantics.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/engine/backend.h"
#include "runtime/kv/page_pool.h"

namespace tsc {

class Engine;

class StepModel {
 public:
  virtual ~StepModel() = default;
  // As Engine::step: reserves pages (copy-on-write of a shared, partly filled last page), runs the
  // forward pass, advances kv->num_tokens. logits: [rows, vocab], rows = Σ (all_logits ? n : 1).
  virtual void step(std::span<const StepSeq> seqs, std::vector<float>& logits) = 0;
  virtual KvManager& kv() = 0;
  virtual PagePool& pool() = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t max_seq_len() const = 0;
  virtual int64_t page_size() const = 0;
  virtual int64_t top_k_pages() const = 0;       // default decode budget and compiled capacity
  virtual int64_t select_every() const { return 1; }  // default decode steps between page scorings
  virtual int64_t num_layers() const = 0;
  virtual int64_t dense_layers() const = 0;      // first layers that always attend densely
  virtual int64_t page_bytes() const = 0;        // K + V + key bounds of one page, all layers
  virtual int64_t bound_bytes() const = 0;       // key bounds of one page, one layer
  virtual SelectionCounters counters() const = 0;

  // Pages the step needs for seq to take n more tokens, exactly as step() counts them (kv/'s
  // copy-on-write accounting: new pages plus a copy of a shared, partly filled last page).
  int64_t pages_for(const SeqKv& seq, int64_t n) { return kv().pages_for_write(seq, n); }
};

// The engine as a StepModel (runtime/sched/engine_model.cpp).
class EngineModel : public StepModel {
 public:
  explicit EngineModel(Engine& engine) : e_(engine) {}
  void step(std::span<const StepSeq> seqs, std::vector<float>& logits) override;
  KvManager& kv() override;
  PagePool& pool() override;
  int64_t vocab_size() const override;
  int64_t max_seq_len() const override;
  int64_t page_size() const override;
  int64_t top_k_pages() const override;
  int64_t select_every() const override;
  int64_t num_layers() const override;
  int64_t dense_layers() const override;
  int64_t page_bytes() const override;
  int64_t bound_bytes() const override;
  SelectionCounters counters() const override;

 private:
  Engine& e_;
};

}  // namespace tsc
