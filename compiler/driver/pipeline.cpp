// Stage sequencing, timing (-v) and --emit handling.
#include "compiler/driver/pipeline.h"

#include <chrono>
#include <iomanip>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "compiler/codegen/cpu_codegen.h"
#include "compiler/codegen/cuda_codegen.h"
#include "compiler/driver/build.h"
#include "compiler/driver/model_files.h"
#include "compiler/ir/passes/pass.h"
#include "compiler/plan/plan.h"
#include "compiler/lift/lift.h"
#include "compiler/onnx/import.h"
#include "runtime/core/error.h"

namespace tsc {
namespace fs = std::filesystem;

namespace {

class StageTimer {
 public:
  StageTimer(const CompileOptions& o, std::ostream& log, const char* name) : o_(o), log_(log), name_(name), t0_(clock::now()) {}
  ~StageTimer() {
    if (o_.verbose) {
      double ms = std::chrono::duration<double, std::milli>(clock::now() - t0_).count();
      log_ << "tsc: " << name_ << " " << std::fixed << std::setprecision(1) << ms << " ms\n";
    }
  }

 private:
  using clock = std::chrono::steady_clock;
  const CompileOptions& o_;
  std::ostream& log_;
  const char* name_;
  clock::time_point t0_;
};

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

FrontEndResult run_front_end(const CompileOptions& opt, std::ostream& log, bool stop_after_simplify) {
  FrontEndResult r;
  {
    StageTimer t(opt, log, "import");
    r.graph = import_onnx(opt.model);
  }
  PassContext ctx;
  ctx.verbose = opt.verbose;
  ctx.log = &log;
  for (const Pass& p : simplify_passes()) {
    StageTimer t(opt, log, p.name);
    int n = p.run(r.graph, ctx);
    if (opt.verbose) log << "tsc: " << p.name << ": " << n << " rewrites\n";
    if (opt.print_after_all) log << "// ----- after " << p.name << " -----\n" << print_graph(r.graph);
  }
  if (stop_after_simplify) return r;
  {
    StageTimer t(opt, log, "lift");
    LiftOptions lo;
    lo.verbose = opt.verbose;
    lo.log = &log;
    r.spec = lift_decoder(r.graph, lo);
  }
  fs::path cfg = opt.config.empty() ? fs::path(opt.model).parent_path() / "config.json" : fs::path(opt.config);
  if (!opt.config.empty() && !fs::exists(cfg)) throw Error("config file '" + opt.config + "' does not exist", "pass the HF config.json of the model or leave --config out");
  if (fs::exists(cfg)) {
    for (auto& d : reconcile_with_config(r.spec, read_file(cfg)))
      log << "tsc: warning: " << d << " (" << cfg.string() << ")\n";
  }
  return r;
}

int run_tsc(const CompileOptions& given) {
  std::ostream& log = std::cerr;
  const CompileOptions opt = resolve_model_files(given, log);  // a folder -> its .onnx, config and tokenizer
  if (opt.emit == "graph") {
    auto r = run_front_end(opt, log, /*stop_after_simplify=*/true);
    std::cout << print_graph(r.graph);
    return 0;
  }
  if (opt.emit == "spec") {
    auto r = run_front_end(opt, log, false);
    if (opt.json) std::cout << spec_to_json(r.spec, false).dump(2) << "\n";
    else std::cout << spec_to_text(r.spec);
    return 0;
  }
  auto fe = run_front_end(opt, log, false);
  const bool nvcc = nvcc_available();
  const bool want_cuda_source = opt.emit == "cuda" || opt.emit == "ptx";
  CompileOptions popt = opt;
  if (want_cuda_source) popt.target = "cuda";
  KernelPlan plan = make_plan(fe.spec, popt, nvcc || opt.emit == "cuda");
  if (opt.emit == "plan") {
    std::cout << plan_to_text(plan);
    return 0;
  }
  if (opt.emit == "cpu") {
    std::cout << generate_cpu_source(plan, fs::path(opt.model).filename().string());
    return 0;
  }
  if (opt.emit == "cuda") {
    std::cout << generate_cuda_source(plan, fs::path(opt.model).filename().string());
    return 0;
  }
  if (opt.emit == "ptx") {
    std::cout << emit_ptx(plan, fs::path(opt.model).filename().string());
    return 0;
  }
  if (opt.target.empty()) log << "tsc: target " << plan.build.target << (nvcc ? " (nvcc found)" : " (no nvcc on PATH)") << "\n";
  build_executable(opt, fe, plan, log);
  return 0;
}

}  // namespace tsc
