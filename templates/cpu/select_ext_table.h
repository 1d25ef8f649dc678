// ABI of the selection extension (DESIGN.md "The selection fence"): a table of its own beside the production
// KernelTable, filled by the generated file's instantiation of tsc::cpu::SelectExt<Config> (select_ext.h).
#pragma once
#include <cstdint>

#include "templates/cpu/kernel_table.h"

namespace tsc::cpu {

// A decode step's page selection per KV head, recorded or imposed (score --select-trace / --select-replay,
// which hold one target's selection against another's numerics): rows [num_kv_heads, top_k] of kept page
// indices of the sequence, ascending, padded with -1; a row of -1 is dense attention. Null = not used. With
// selection reuse a trace row holds the first top_k of the pages attended.
struct SelectIo {
  const int32_t* replay = nullptr;  // attend to these pages instead of this target's own top-k
  int32_t* trace = nullptr;         // record the pages attended
};

// Replayed selections (SelectIo::replay): how many were imposed, how many differ from this target's own top-k,
// how many do not fit the sequence (wrong count, first/last page missing, dense vs selecting), and the largest
// score gap an imposed set leaves (impose_replay), relative to the scores' magnitude.
struct ReplayStats {
  int64_t replayed = 0, differs = 0, invalid = 0;
  float gap = 0.f;
};

struct SelectExtTable {
  const char* key;  // the production KernelTable's key: both come from one generated file
  // KernelTable::attend_decode with `flags` (SelectFlags, 0 = the design's selection) and `io`; replay statistics
  // are added to *replay.
  void (*attend_decode)(const KvLayer& kv, const SeqPages& seq, int64_t hq, float scale, int64_t budget, int32_t flags, const SelectIo& io,
                        const SelectReuse& reuse, const float* q, float* out, SelectStats* stats, ReplayStats* replay);
};

}  // namespace tsc::cpu
