// The selection ablations' flag bits (select_ablation.h, select_ext.h); the runtime maps score's and serve's
// options onto them (runtime/engine/select_diag.cpp). Not part of the production KernelTable.
#pragma once
#include <cstdint>

namespace tsc::cpu {

// Selection variants for ablations (score --select-reduce max, --no-sink, --select-score oracle|subpage2|
// subpage4|sphere|subpage2sphere|qsum|qsumsphere|gauss|boundsoft|subpage2gauss|gausscap|boxgauss|sketch1|
// sketch2|sketch1half|sketch1quarter), ORed into the selection extension's flags (select_ext.h; the runtime's
// SelectDiag::ablation); 0 is the design's selection. The subpage/sphere/qsum bits are tighter upper bounds screened from the page's stored keys
// (page_score_keys); kSelectSubpage2 | kSelectSphere is the sphere rule on each half. kSelectGauss /
// kSelectBoundSoft / kSelectBoxGauss / kSelectSketch* rank by an estimate of the attention mass instead of a
// bound (page_log_mass); the sketches quantize each key to 1 or 2 bits per channel of the page's box (Half /
// Quarter: only the D/2 / D/4 widest channels).
enum SelectFlags : int32_t {
  kSelectGroupMax = 1,
  kSelectNoSink = 2,
  kSelectOracle = 4,
  kSelectSubpage2 = 8,
  kSelectSubpage4 = 16,
  kSelectSphere = 32,
  kSelectQSum = 64,
  kSelectGauss = 128,
  kSelectBoundSoft = 256,
  kSelectBoxGauss = 512,
  kSelectSketch1 = 1024,
  kSelectSketch2 = 2048,
  kSelectSketchHalf = 4096,
  kSelectSketchQuarter = 8192,
};

// The screened scores' flag bits (the oracle's is kSelectOracle).
constexpr int32_t kSelectFromKeys = kSelectSubpage2 | kSelectSubpage4 | kSelectSphere | kSelectQSum;
constexpr int32_t kSelectEstimates = kSelectGauss | kSelectBoundSoft | kSelectBoxGauss | kSelectSketch1 | kSelectSketch2;
constexpr int32_t kSelectAblationScores = kSelectFromKeys | kSelectEstimates;

}  // namespace tsc::cpu
