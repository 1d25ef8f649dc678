// Compile (with an object cache keyed by the generated source and the compiler), link, append the payload.
#include "compiler/driver/build.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "compiler/codegen/cpu_codegen.h"
#include "compiler/codegen/cuda_codegen.h"
#include "compiler/driver/cuda_clang.h"
#include "contract/error.h"

#ifndef TSC_LIB_DIR
#define TSC_LIB_DIR ""
#endif

namespace tsc {
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

fs::path cache_dir() {
  if (const char* d = std::getenv("TSC_CACHE_DIR")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return fs::path(x) / "tsc";
  if (const char* h = std::getenv("HOME")) return fs::path(h) / ".cache" / "tsc";
  return fs::temp_directory_path() / "tsc-cache";
}

std::string hex(size_t h) {
  std::ostringstream o;
  o << std::hex << h;
  return o.str();
}

// Concatenated names (relative to `dir`) and contents of every template header of one target (templates/cpu or
// templates/cuda, which include nothing of each other: layers.includes): a template change must invalidate that target's cached
// objects, a change to the other target's templates or a checkout at another path must not.
std::string templates_fingerprint(const fs::path& dir) {
  std::string all;
  if (!fs::exists(dir)) return all;
  std::vector<fs::path> files;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (auto& f : files) all += fs::relative(f, dir).string() + "\n" + read_text(f);
  return all;
}

// `compiler --version`, once per process and compiler: part of the cache key, so that objects of another
// compiler release are rebuilt.
std::string compiler_version(const std::string& compiler) {
  static std::map<std::string, std::string> seen;
  auto it = seen.find(compiler);
  if (it != seen.end()) return it->second;
  std::ostringstream quiet;
  return seen[compiler] = run_command(shell_quote(compiler) + " --version", "running " + compiler + " --version", false, quiet);
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

std::string run_command(const std::string& cmd, const std::string& what, bool verbose, std::ostream& log) {
  if (verbose) log << "tsc: $ " << cmd << "\n";
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) throw Error("cannot run " + what, "check that a C++ compiler is installed");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) {
    if (out.size() > 4000) out = "..." + out.substr(out.size() - 4000);
    throw Error(what + " failed (exit " + std::to_string(WEXITSTATUS(rc)) + "):\n" + out, "this is a bug in tsc or a broken toolchain; rerun with -v to see the command");
  }
  return out;
}

bool nvcc_available() {
  // The CUDA target needs nvcc and this tsc's CUDA runtime libraries. Asked once per process: the target
  // choice and the plan both need the answer, and finding nvcc starts a shell.
  static const bool available = [] {
    std::string lib = std::getenv("TSC_LIB_DIR") ? std::getenv("TSC_LIB_DIR") : TSC_LIB_DIR;
    if (!lib.empty() && !fs::exists(fs::path(lib) / "tsc_cuda.link")) return false;
    return std::system("command -v nvcc >/dev/null 2>&1") == 0;
  }();
  return available;
}

Toolchain find_toolchain(Target which) {
  const std::string target = target_name(which);
  std::string lib = std::getenv("TSC_LIB_DIR") ? std::getenv("TSC_LIB_DIR") : TSC_LIB_DIR;
  if (lib.empty()) {
    // Installed layout: <prefix>/bin/tsc next to <prefix>/lib.
    lib = (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "lib").string();
  }
  fs::path f = fs::path(lib) / ("tsc_" + target + ".link");
  if (!fs::exists(f))
    throw Error("no runtime libraries for target '" + target + "' (" + f.string() + " is missing)",
                target == "cuda" ? "build tsc on a machine with the CUDA Toolkit, or use --target cpu" : "rebuild tsc: cmake --build build");
  Toolchain t;
  t.lib_dir = lib;
  std::string text = read_text(f);
  for (size_t at = text.find("@LIBDIR@"); at != std::string::npos; at = text.find("@LIBDIR@", at)) text.replace(at, 8, lib);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "source_dir") t.source_dir = v;
    else if (k == "cxx") t.cxx = v;
    else if (k == "nvcc") t.nvcc = v;
    else if (k == "compile_flags") t.compile_flags = v;
    else if (k == "link_libs") t.link_libs = v;
  }
  // A moved build folder: sources via TSC_SOURCE_DIR, nvcc and c++ from PATH when the recorded ones are absent.
  if (const char* src = std::getenv("TSC_SOURCE_DIR")) t.source_dir = src;
  // TSC_CUDA_ARCHS="90" (or "80 90") replaces the recorded -gencode list: faster builds for one GPU.
  if (const char* archs = std::getenv("TSC_CUDA_ARCHS"); archs && target == "cuda") {
    std::string flags;
    std::istringstream words(t.compile_flags);
    for (std::string w; words >> w;)
      if (w.rfind("-gencode", 0) != 0) flags += w + " ";
    std::istringstream list(archs);
    for (std::string a; list >> a;) flags += "-gencode=arch=compute_" + a + ",code=sm_" + a + " ";
    t.compile_flags = flags;
  }
  if (!t.nvcc.empty() && !fs::exists(t.nvcc)) t.nvcc = "nvcc";
  if (!t.cxx.empty() && !fs::exists(t.cxx)) t.cxx = "c++";
  return t;
}

std::string emit_ptx(const KernelPlan& plan, const std::string& model_name, CudaCompiler cuda_compiler) {
  const Toolchain tc = find_toolchain(Target::kCuda);
  const std::string src = generate_cuda_source(plan, model_name);
  fs::path dir = fs::temp_directory_path() / ("tsc-ptx-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path cu = dir / ("kernels_" + plan.key() + ".cu"), ptx = dir / ("kernels_" + plan.key() + ".ptx");
  std::ofstream(cu) << src;
  // The PTX of the tuned target (sm_90): what FileCheck tests read.
  std::ostringstream log;
  try {
    if (cuda_compiler == CudaCompiler::kClang) {
      const ClangCuda cc = find_clang_cuda(tc);
      clang_cuda_identity(cc);  // a clear error when clang is missing
      clang_cuda_ptx(cc, tc, cu.string(), 90, ptx.string(), dir.string(), false, log);
    } else {
      run_command(tc.nvcc + " -std=c++17 -O3 -arch=compute_90 --ptx -I" + shell_quote(tc.source_dir) + " " + shell_quote(cu.string()) + " -o " +
                      shell_quote(ptx.string()),
                  "generating PTX", false, log);
    }
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  std::string text = read_text(ptx);
  fs::remove_all(dir);
  return text;
}

std::string compile_kernels(Target t, const std::string& src, const KernelPlan& plan, CudaCompiler cuda_compiler, bool verbose, std::ostream& log) {
  const Toolchain tc = find_toolchain(t);
  const std::string target = target_name(t);
  const bool cuda = t == Target::kCuda, clang = cuda && cuda_compiler == CudaCompiler::kClang;
  const std::string flags = tc.compile_flags + " -I" + shell_quote(tc.source_dir);
  const std::string compiler = cuda ? tc.nvcc : tc.cxx;
  ClangCuda cc;
  if (clang) cc = find_clang_cuda(tc);
  // The key: what the compiler reads and which compiler (its --version, not its path) with which flags.
  const std::string identity = clang ? "clang\n" + clang_cuda_identity(cc) + clang_cuda_flags(cc) : compiler_version(compiler) + tc.compile_flags;
  const size_t h = std::hash<std::string>{}(src + "\n" + identity + "\n" + templates_fingerprint(fs::path(tc.source_dir) / "templates" / (cuda ? "cuda" : "cpu")));
  fs::path cache = cache_dir();
  fs::create_directories(cache);
  const std::string tag = clang ? "cuda-clang" : target;
  fs::path obj = cache / ("kernels_" + plan.key() + "_" + tag + "_" + hex(h) + ".o");
  if (fs::exists(obj)) {
    if (verbose) log << "tsc: " << target << " kernels cached: " << obj.string() << "\n";
    return obj.string();
  }
  // Per-process names for the source and the object until the object is renamed into place: concurrent
  // builds of the same model (tools/gpu/check.py builds 8 at once) must not truncate a source another
  // process is compiling, which linked an executable without kernels.
  const std::string pid = std::to_string(getpid());
  fs::path cpp = cache / ("kernels_" + plan.key() + "_" + hex(h) + "_" + pid + (cuda ? ".cu" : ".cpp"));
  std::ofstream(cpp) << src;
  fs::path tmp = obj.string() + ".tmp" + pid;
  if (cuda) log << "tsc: compiling CUDA kernels " << plan.key() << " with " << (clang ? "clang" : "nvcc") << "\n";
  if (clang) {
    const fs::path work = cache / ("clang-" + hex(h) + "_" + pid);  // PTX, cubins, fatbinary, stub header
    fs::create_directories(work);
    try {
      clang_cuda_object(cc, tc, cpp.string(), tmp.string(), work.string(), verbose, log);
    } catch (...) {
      fs::remove_all(work);
      fs::remove(cpp);
      throw;
    }
    fs::remove_all(work);
  } else {
    run_command(compiler + " " + flags + " -c " + shell_quote(cpp.string()) + " -o " + shell_quote(tmp.string()), "compiling the generated " + target + " kernels",
                verbose, log);
  }
  fs::rename(tmp, obj);
  fs::remove(cpp);  // tsc --emit=cpu|cuda prints the same source
  return obj.string();
}

void link_executable(Target target, const std::vector<std::string>& objects, const std::string& out, bool verbose, std::ostream& log) {
  const Toolchain tc = find_toolchain(target);
  std::string objs;
  for (const std::string& o : objects) objs += shell_quote(o) + " ";
  run_command(tc.cxx + " " + objs + tc.link_libs + " -o " + shell_quote(out), "linking the executable", verbose, log);
}

}  // namespace tsc
