// libFuzzer target: mutated bytes as an .onnx file through import, every simplify pass and lifting.
// A tsc::Error is the expected way to reject bad input; anything else (a crash, another exception, a
// sanitizer report, a libFuzzer out-of-memory or timeout) is a bug in tsc.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "compiler/ir/passes/pass.h"
#include "compiler/lift/lift.h"
#include "compiler/onnx/import.h"
#include "contract/error.h"

namespace {

// import_onnx reads a path (and external data beside it), so each input is written to a file in a private
// folder; one folder per process keeps parallel fuzzing jobs (-fork/-jobs) apart.
std::string g_path;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/tsc_fuzz_import.XXXXXX";
  if (!mkdtemp(dir.data())) {
    std::perror("fuzz_import: mkdtemp");
    std::abort();
  }
  g_path = dir + "/model.onnx";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(g_path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    tsc::Graph g = tsc::import_onnx(g_path);
    std::ostringstream log;
    tsc::PassContext ctx;
    ctx.verbose = true;  // the -v notes format values from half-matched patterns: exercise them too
    ctx.log = &log;
    for (const tsc::Pass& p : tsc::simplify_passes()) p.run(g, ctx);
    (void)tsc::print_graph(g, true);
    tsc::LiftOptions lo;
    lo.verbose = true;
    lo.log = &log;
    tsc::LiftResult lifted = tsc::lift_decoder(g, lo);
    (void)tsc::lift_result_to_text(lifted);
  } catch (const tsc::Error&) {
    // Expected: the input was rejected with a user-facing message.
  }
  return 0;
}
