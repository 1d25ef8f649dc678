// The CPU backend's one way into the selection extension (templates/cpu/select_ext.h): decode attention for a
// step that carries a SelectDiag. The production decode path calls the KernelTable and never comes here.
#pragma once
#include <cstdint>
#include <string>

#include "runtime/engine/backend.h"
#include "templates/cpu/kernel_table.h"

namespace tsc {

// Refuses, before the step runs, what the extension cannot do for q (kt: the production table it extends).
void check_select_diag(const StepSeq& q, const cpu::KernelTable& kt);

// KernelTable::attend_decode of layer l for q through the extension: q.diag's ablation, its trace and replay rows
// of layer l ([num_kv_heads, top_k] at l * num_kv_heads * top_k); replay statistics are added to *q.diag.
void attend_decode_diag(const StepSeq& q, int64_t l, const cpu::KernelTable& kt, const cpu::KvLayer& kv, const cpu::SeqPages& sp, int64_t hq,
                        float scale, int64_t budget, const cpu::SelectReuse& reuse, const float* qv, float* out, cpu::SelectStats* st);

}  // namespace tsc
