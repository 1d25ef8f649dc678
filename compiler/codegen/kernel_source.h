// The one shape of a generated kernel file, for either target: a Config struct of specialization constants
// and the explicit instantiation of the target's Kernels<Config> template; the templates hold all logic.
#pragma once
#include <string>

#include "compiler/plan/plan.h"

namespace tsc {

struct KernelSourceTarget {
  const char* label;             // "CPU" / "CUDA", for the file's header comment
  const char* ns;                // namespace of the templates and of KernelTable: tsc::<ns>
  const char* header;            // the templates' entry header
  const char* weight_type;       // C++ type of matrix weights in this build
  bool norm_activation_kinds;    // the templates also specialize on the norm and activation kinds
  bool page_score_kinds;         // the templates also specialize on the page score (PageScore)
  bool q4_kinds;                 // the templates also specialize on the 4-bit block size and scale type
  // The selection extension's header (SelectExt<Config>, reached through tsc_<ns>_select_ext(): ablations,
  // traces and replays; DESIGN.md "The selection fence"), or null where the target has none.
  const char* ext_header = nullptr;
};

std::string generate_kernel_source(const KernelPlan& plan, const std::string& model_name, const KernelSourceTarget& target);

}  // namespace tsc
