// Test-only fault injection: TSC_TEST_FAIL_ENGINE=INDEX:STEP makes engine INDEX's STEP-th forward step (counted
// from 1) throw EngineFailure, as a lost GPU would, so that the replica-failure tests run without a GPU. Unset
// (every production run), nothing is wrapped and nothing changes.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>

#include "runtime/sched/step_model.h"

namespace tsc {

// The step at which engine `index` is to fail, when TSC_TEST_FAIL_ENGINE names it; throws tsc::Error when the
// variable is malformed.
std::optional<int64_t> injected_failure_step(int index);

// `inner` with every call passed through, except that step number `fail_at` and every later one throw.
class FailingStepModel : public StepModel {
 public:
  FailingStepModel(StepModel& inner, int64_t fail_at) : m_(inner), fail_at_(fail_at) {}
  void step(std::span<const StepSeq> seqs, std::vector<float>& logits) override;
  KvManager& kv() override { return m_.kv(); }
  PagePool& pool() override { return m_.pool(); }
  int64_t vocab_size() const override { return m_.vocab_size(); }
  int64_t max_seq_len() const override { return m_.max_seq_len(); }
  int64_t page_size() const override { return m_.page_size(); }
  int64_t top_k_pages() const override { return m_.top_k_pages(); }
  int64_t select_every() const override { return m_.select_every(); }
  int64_t num_layers() const override { return m_.num_layers(); }
  int64_t dense_layers() const override { return m_.dense_layers(); }
  int64_t page_bytes() const override { return m_.page_bytes(); }
  int64_t bound_bytes() const override { return m_.bound_bytes(); }
  SelectionCounters counters() const override { return m_.counters(); }

 private:
  StepModel& m_;
  int64_t fail_at_, steps_ = 0;
};

}  // namespace tsc
