// The compile pipeline as one list of named stages: import -> simplify -> lift -> (plan -> codegen -> build).
#pragma once
#include <iosfwd>

#include "compiler/driver/options.h"
#include "compiler/ir/graph.h"
#include "runtime/core/spec.h"

namespace tsc {

struct FrontEndResult {
  Graph graph;
  DecoderSpec spec;
};

// import + simplify (+ lift unless stop_after_simplify). Prints stage times under -v.
FrontEndResult run_front_end(const CompileOptions& opt, std::ostream& log, bool stop_after_simplify);

// Runs tsc with parsed options; returns the process exit code.
int run_tsc(const CompileOptions& opt);

}  // namespace tsc
