// Diagnostics of decode page selection, behind the fence (DESIGN.md "The selection fence"): an ablation of the
// CPU target's selection, a trace recorded on either target, a selection replayed on the CPU target. A StepSeq
// carries one only when score or serve asks for it; production steps carry none and never reach this code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tsc {

struct SelectDiag {
  int32_t ablation = 0;  // cpu::SelectFlags bits (CPU target; templates/cpu/select_flags.h), 0: the design's selection
  // Per layer and KV head, [layers, num_kv_heads, top_k] page indices, ascending, -1 padded (a row of -1: dense):
  int32_t* trace = nullptr;         // the pages each decode attention kept, recorded (both targets)
  const int32_t* replay = nullptr;  // attended instead of the own top-k (CPU target, key-bound builds)
  // Replayed selections so far (the backend adds to them): imposed, differing from the own top-k, and the largest
  // score gap an imposed set left, relative to the scores' magnitude.
  int64_t replayed = 0, replay_differs = 0;
  double replay_gap = 0;
};

// The ablation bits of score's and serve's options --select-reduce (sum|max), --no-sink and --select-score NAME
// (one of select_score_names()); 0 for the design's selection.
int32_t select_ablation(const std::string& reduce, bool no_sink, const std::string& score);
// The --select-score names, "bound" (the design's) first.
std::vector<std::string> select_score_names();

}  // namespace tsc
