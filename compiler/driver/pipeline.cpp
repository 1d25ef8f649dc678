// The stage list (what each stage runs and prints), its sequencing, timing (-v) and --emit handling.
#include "compiler/driver/pipeline.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "compiler/codegen/cpu_codegen.h"
#include "compiler/codegen/cuda_codegen.h"
#include "compiler/driver/build.h"
#include "compiler/driver/cuda_clang.h"
#include "compiler/driver/model_files.h"
#include "compiler/driver/package.h"
#include "compiler/driver/target.h"
#include "compiler/driver/quantize.h"
#include "compiler/driver/weights.h"
#include "compiler/ir/passes/pass.h"
#include "compiler/lift/lift.h"
#include "compiler/onnx/import.h"
#include "contract/error.h"

namespace tsc {
namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;

void log_ms(const CompileOptions& o, std::ostream& log, const std::string& name, clock_type::time_point t0) {
  if (o.verbose)
    log << "tsc: " << name << " " << std::fixed << std::setprecision(1) << std::chrono::duration<double, std::milli>(clock_type::now() - t0).count()
        << " ms\n";
}

std::string model_name(const Compilation& c) { return fs::path(c.opt.model).filename().string(); }

// A folder in the hub layout names its .onnx file, config.json and tokenizer (compiler/driver/model_files.h).
void run_import(Compilation& c, std::ostream& log) {
  c.opt = resolve_model_files(c.opt, log);
  c.graph = import_onnx(c.opt.model);
}

void run_simplify(Compilation& c, std::ostream& log) {
  PassContext ctx;
  ctx.verbose = c.opt.verbose;
  ctx.log = &log;
  for (const Pass& p : simplify_passes()) {
    const auto t0 = clock_type::now();
    const int n = p.run(c.graph, ctx);
    if (c.opt.verbose) log << "tsc: " << p.name << ": " << n << " rewrites\n";
    log_ms(c.opt, log, p.name, t0);
    if (c.opt.print_after_all) log << "// ----- after " << p.name << " -----\n" << print_graph(c.graph);
  }
}

void print_graph_stage(const Compilation& c, std::ostream& out) { out << print_graph(c.graph); }

void run_lift(Compilation& c, std::ostream& log) {
  LiftOptions lo;
  lo.verbose = c.opt.verbose;
  lo.log = &log;
  const fs::path cfg = c.opt.config.empty() ? fs::path(c.opt.model).parent_path() / "config.json" : fs::path(c.opt.config);
  if (!c.opt.config.empty() && !fs::exists(cfg))
    throw Error("config file '" + c.opt.config + "' does not exist", "pass the HF config.json of the model or leave --config out");
  std::stringstream text;
  if (fs::exists(cfg)) {
    std::ifstream f(cfg, std::ios::binary);
    text << f.rdbuf();
    refuse_unimplemented_features(text.str());  // before lifting: the feature, not the pattern it breaks, is the error
  }
  c.lift = lift_decoder(c.graph, lo);
  if (c.opt.weight_bits) request_quantization(c.lift, c.opt.weight_bits, c.opt.weight_group ? c.opt.weight_group : 32);
  if (c.opt.head_int4) request_tied_head_int4(c.lift);
  if (!fs::exists(cfg)) return;
  for (auto& d : reconcile_with_config(c.lift.spec, text.str())) log << "tsc: warning: " << d << " (" << cfg.string() << ")\n";
}

void print_spec(const Compilation& c, std::ostream& out) {
  if (c.opt.json) out << spec_to_json(c.lift.spec).dump(2) << "\n";
  else out << lift_result_to_text(c.lift);
}

// The source printers fix their target; a build (and its plan) follows what can run here.
void run_plan(Compilation& c, std::ostream& log) {
  CompileOptions popt = c.opt;
  if (c.opt.emit == "cuda" || c.opt.emit == "ptx") popt.target = Target::kCuda;
  else if (c.opt.emit == "cpu") popt.target = Target::kCpu;
  else {
    const TargetChoice choice = choose_target(c.opt);
    popt.target = choice.target;
    c.target_why = choice.why;
  }
  const bool nvcc = c.opt.emit == "cuda" || (popt.target == Target::kCuda && nvcc_available());
  c.plan = make_plan(c.lift.spec, popt, nvcc);
  if (!c.target_why.empty() && (c.opt.emit.empty() || c.opt.verbose)) log << "tsc: target " << target_name(c.plan.build.target) << " (" << c.target_why << ")\n";
}

void print_plan(const Compilation& c, std::ostream& out) { out << plan_to_text(c.plan); }

// Materializes every payload tensor (canonical layouts, the build's dtype); the graph is no longer needed after.
void run_weights(Compilation& c, std::ostream&) {
  add_model_weights(c.payload, c.graph, c.lift, c.plan);
  c.graph = Graph{};
}

void print_weights(const Compilation& c, std::ostream& out) { out << c.payload.listing(); }

// One source per kernel set: a CUDA executable also carries the CPU kernels of the same plan (same weights),
// so that it still runs where no GPU is usable. --emit=cpu|cuda generate that target's only.
void run_codegen(Compilation& c, std::ostream&) {
  std::vector<Target> targets{c.plan.build.target};
  if (c.opt.emit == "cpu" || c.opt.emit == "cuda") targets = {parse_target(c.opt.emit, "--emit")};
  else if (c.opt.emit == "ptx") targets = {Target::kCuda};
  else if (c.plan.build.target == Target::kCuda) targets.push_back(Target::kCpu);
  for (const Target t : targets)
    c.sources.emplace_back(t, t == Target::kCuda ? generate_cuda_source(c.plan, model_name(c)) : generate_cpu_source(c.plan, model_name(c)));
}

void print_codegen(const Compilation& c, std::ostream& out) {
  if (c.opt.emit == "ptx") {
    out << emit_ptx(c.plan, model_name(c), c.opt.cuda_compiler.value_or(CudaCompiler::kNvcc));
    return;
  }
  for (auto& [target, src] : c.sources) {
    if (c.sources.size() > 1) out << "// ----- " << target_name(target) << " kernels -----\n";
    out << src;
  }
}

void run_compile(Compilation& c, std::ostream& log) {
  for (auto& [target, src] : c.sources) c.objects.push_back(compile_kernels(target, src, c.plan, c.opt.cuda_compiler.value_or(CudaCompiler::kNvcc), c.opt.verbose, log));
}

void print_objects(const Compilation& c, std::ostream& out) {
  for (auto& o : c.objects) out << o << "\n";
}

// Linked next to the output under a per-process name, moved into place by package.
void run_link(Compilation& c, std::ostream& log) {
  const fs::path out = fs::absolute(c.opt.output);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  c.image = out.string() + ".tmp" + std::to_string(getpid());
  link_executable(c.plan.build.target, c.objects, c.image, c.opt.verbose, log);
}

void print_image(const Compilation& c, std::ostream& out) { out << c.image << "\n"; }

void run_package(Compilation& c, std::ostream& log) {
  PayloadWriter& pw = c.payload;
  pw.meta()["spec"] = spec_to_json(c.lift.spec);  // the bindings and io names stay in the compiler
  pw.meta()["build"] = build_options_to_json(c.plan.build);
  pw.meta()["kernel_key"] = c.plan.key();
  std::vector<std::string> targets;
  for (auto& s : c.sources) targets.push_back(target_name(s.first));
  pw.meta()["kernel_targets"] = targets;
  const std::vector<std::string> found = add_tokenizer_files(pw, c.opt);
  pw.meta()["tokenizer_files"] = found;
  const std::string out = fs::absolute(c.opt.output).string();
  write_executable(pw, c.image, out);
  c.image.clear();
  log << "tsc: wrote " << out << " (" << target_name(c.plan.build.target) << ", " << c.plan.key() << ", "
      << (found.empty() ? "no tokenizer: token ids only" : "tokenizer embedded") << ")\n";
}

void print_nothing(const Compilation&, std::ostream&) {}

}  // namespace

const std::vector<Stage>& compile_stages() {
  static const std::vector<Stage> stages = {
      {"import", "model file (or hub-layout folder) -> Graph (initializers stay in the mapped file)", run_import, print_graph_stage},
      {"simplify", "fold, infer shapes, canonicalize exporter forms into tsc ops (the passes `-v` lists)", run_simplify, print_graph_stage},
      {"lift", "canonical graph -> DecoderSpec + weight bindings, cross-checked with config.json", run_lift, print_spec},
      {"plan", "DecoderSpec + options -> KernelPlan (target, specialization constants)", run_plan, print_plan},
      {"weights", "bound initializers -> payload tensors in canonical layout and the build's dtype", run_weights, print_weights},
      {"codegen", "KernelPlan -> generated kernel sources (constants and instantiations)", run_codegen, print_codegen},
      {"compile", "generated sources -> kernel objects (cached by source, compiler and templates)", run_compile, print_objects},
      {"link", "kernel objects + runtime libraries -> executable image", run_link, print_image},
      {"package", "payload (weights, spec, build options, tokenizer) appended -> the output executable", run_package, print_nothing},
  };
  return stages;
}

const Stage& emit_stage(const std::string& emit) {
  const std::string name = emit == "graph" ? "simplify" : emit == "spec" ? "lift" : (emit == "cpu" || emit == "cuda" || emit == "ptx") ? "codegen" : emit;
  for (const Stage& s : compile_stages())
    if (name == s.name) return s;
  throw Error("--emit=" + emit + " names no stage", "use one of import, simplify (graph), lift (spec), plan, weights, codegen (cpu, cuda, ptx), compile, link, package");
}

int run_tsc(const CompileOptions& opt) {
  std::ostream& log = std::cerr;
  const Stage* last = opt.emit.empty() ? &compile_stages().back() : &emit_stage(opt.emit);
  Compilation c;
  c.opt = opt;
  c.opt.cuda_compiler = resolve_cuda_compiler(opt.cuda_compiler);  // a bad value fails before any work
  try {
    for (const Stage& s : compile_stages()) {
      const auto t0 = clock_type::now();
      s.run(c, log);
      log_ms(opt, log, s.name, t0);
      if (&s == last) break;
    }
  } catch (...) {
    if (!c.image.empty()) fs::remove(c.image);  // a linked image without its payload is no executable
    throw;
  }
  if (!opt.emit.empty()) last->print(c, std::cout);
  return 0;
}

}  // namespace tsc
