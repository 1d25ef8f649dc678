// score's and serve's selection-ablation options as the CPU selection extension's flag bits.
#include "runtime/engine/select_diag.h"

#include <utility>

#include "templates/cpu/select_flags.h"

namespace tsc {
namespace {

const std::vector<std::pair<std::string, int32_t>>& select_score_table() {
  using namespace cpu;
  static const std::vector<std::pair<std::string, int32_t>> t = {
      {"bound", 0},  // the design's selection
      {"oracle", kSelectOracle},
      {"subpage2", kSelectSubpage2},
      {"subpage4", kSelectSubpage4},
      {"sphere", kSelectSphere},
      {"subpage2sphere", kSelectSubpage2 | kSelectSphere},
      {"qsum", kSelectQSum},
      {"qsumsphere", kSelectQSum | kSelectSphere},
      {"gauss", kSelectGauss},
      {"boundsoft", kSelectBoundSoft},
      {"subpage2gauss", kSelectSubpage2 | kSelectGauss},
      {"gausscap", kSelectGauss | kSelectBoundSoft},
      {"boxgauss", kSelectBoxGauss},
      {"sketch1", kSelectSketch1},
      {"sketch2", kSelectSketch2},
      {"sketch1half", kSelectSketch1 | kSelectSketchHalf},
      {"sketch1quarter", kSelectSketch1 | kSelectSketchQuarter},
  };
  return t;
}

}  // namespace

int32_t select_ablation(const std::string& reduce, bool no_sink, const std::string& score) {
  int32_t flags = (reduce == "max" ? cpu::kSelectGroupMax : 0) | (no_sink ? cpu::kSelectNoSink : 0);
  for (const auto& [name, bits] : select_score_table())
    if (name == score) flags |= bits;
  return flags;
}

std::vector<std::string> select_score_names() {
  std::vector<std::string> names;
  for (const auto& [name, bits] : select_score_table()) names.push_back(name);
  return names;
}

}  // namespace tsc
