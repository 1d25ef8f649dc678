// Decode attention through the CPU selection extension, for steps with selection diagnostics (select_diag.h).
#include "runtime/engine/cpu_select_diag.h"

#include <algorithm>
#include <cstring>

#include "contract/error.h"
#include "runtime/engine/select_diag.h"
#include "templates/cpu/select_ext_table.h"

// Defined by the generated kernels file beside tsc_cpu_kernels() (kernel_source.cpp).
extern "C" __attribute__((weak)) const tsc::cpu::SelectExtTable* tsc_cpu_select_ext();

namespace tsc {
namespace {

const cpu::SelectExtTable& extension(const cpu::KernelTable& kt) {
  const cpu::SelectExtTable* ext = tsc_cpu_select_ext ? tsc_cpu_select_ext() : nullptr;
  if (!ext || std::strcmp(ext->key, kt.key) != 0)
    throw Error("this executable's CPU kernels have no selection extension (--select-score, --select-reduce, --no-sink, --select-trace, --select-replay)",
                "rebuild it with this version of tsc");
  return *ext;
}

}  // namespace

void check_select_diag(const StepSeq& q, const cpu::KernelTable& kt) {
  extension(kt);
  if (q.diag->replay && q.select_every != 1)
    throw Error("--select-replay imposes a recorded selection at every step; it does not combine with --select-every " + std::to_string(q.select_every),
                "replay with --select-every 1");
}

void attend_decode_diag(const StepSeq& q, int64_t l, const cpu::KernelTable& kt, const cpu::KvLayer& kv, const cpu::SeqPages& sp, int64_t hq,
                        float scale, int64_t budget, const cpu::SelectReuse& reuse, const float* qv, float* out, cpu::SelectStats* st) {
  SelectDiag& d = *q.diag;
  const int64_t at = l * kv.num_kv_heads * kt.top_k;
  const cpu::SelectIo io{d.replay ? d.replay + at : nullptr, d.trace ? d.trace + at : nullptr};
  cpu::ReplayStats rs;
  extension(kt).attend_decode(kv, sp, hq, scale, budget, d.ablation, io, reuse, qv, out, st, &rs);
  if (rs.invalid > 0)
    throw Error("the replayed page selection of layer " + std::to_string(l) + " at position " + std::to_string(sp.num_tokens - 1) +
                    " does not fit the sequence (kept-page count, first/last page, or dense vs selecting differ)",
                "replay a trace recorded with the same input ids, budget and --prefill-tokens");
  d.replayed += rs.replayed;
  d.replay_differs += rs.differs;
  d.replay_gap = std::max<double>(d.replay_gap, rs.gap);
}

}  // namespace tsc
