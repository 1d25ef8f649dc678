// The compile pipeline as one list of named stages; `tsc --emit=NAME` stops after stage NAME and prints it.
#pragma once
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "compiler/options.h"
#include "compiler/ir/graph.h"
#include "compiler/lift/bindings.h"
#include "compiler/plan/plan.h"
#include "contract/payload.h"
#include "contract/spec.h"

namespace tsc {

// What the stages hand on, each filling its part.
struct Compilation {
  CompileOptions opt;
  std::string target_why;                                    // plan: why this target (default choice)
  Graph graph;                                               // import, simplify; released by weights
  LiftResult lift;                                           // lift: spec, weight bindings, graph io names
  KernelPlan plan;                                           // plan
  PayloadWriter payload;                                     // weights (tensors); package adds meta, tokenizer
  std::vector<std::pair<Target, std::string>> sources;       // codegen: (target, generated source)
  std::vector<std::string> objects;                          // compile: one kernel object per target
  std::string image;                                         // link: the executable before its payload
};

struct Stage {
  const char* name;
  const char* summary;  // one line, printed by `tsc --help`
  void (*run)(Compilation& c, std::ostream& log);
  void (*print)(const Compilation& c, std::ostream& out);
};

// import -> simplify -> lift -> plan -> weights -> codegen -> compile -> link -> package.
const std::vector<Stage>& compile_stages();

// The stage --emit=NAME stops after ("graph" = simplify, "spec" = lift, "cpu"/"cuda"/"ptx" = codegen for that
// target); throws tsc::Error for a name that is no stage.
const Stage& emit_stage(const std::string& emit);

// Runs tsc with parsed options; returns the process exit code.
int run_tsc(const CompileOptions& opt);

}  // namespace tsc
