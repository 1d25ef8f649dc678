// clang's CUDA path (tsc --cuda-compiler clang). clang-19 builds CUDA 13 device code but its own fatbinary step
// still passes --image (CUDA 13 wants --image3), so tsc runs the steps clang's driver would: device-only PTX per
// architecture, ptxas, fatbinary, then the host side with -fcuda-include-gpubinary, which registers every kernel
// with the CUDA runtime at load time as an nvcc object does; the runtime sees the same KernelTable either way.
#include "compiler/driver/cuda_clang.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "contract/error.h"

namespace tsc {
namespace fs = std::filesystem;

CudaCompiler resolve_cuda_compiler(std::optional<CudaCompiler> option) {
  if (option) return *option;
  const char* env = std::getenv("TSC_CUDA_COMPILER");
  return env && *env ? parse_cuda_compiler(env, std::string("TSC_CUDA_COMPILER=") + env) : CudaCompiler::kNvcc;
}

namespace {

void add_unique(std::vector<int>& v, int x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

// "sm_90" / "compute_90" -> 90 in `cubin` / `ptx`.
void add_code(CudaArchs& a, std::string code) {
  code.erase(std::remove_if(code.begin(), code.end(), [](char ch) { return ch == '[' || ch == ']' || ch == '"' || ch == '\''; }), code.end());
  std::istringstream list(code);
  for (std::string c; std::getline(list, c, ',');) {
    if (c.rfind("sm_", 0) == 0) add_unique(a.cubin, std::atoi(c.c_str() + 3));
    else if (c.rfind("compute_", 0) == 0) add_unique(a.ptx, std::atoi(c.c_str() + 8));
  }
}

std::string cuda_root_of(const std::string& nvcc) {
  std::error_code ec;
  fs::path p = nvcc.find('/') != std::string::npos ? fs::path(nvcc) : fs::path();
  if (p.empty()) {
    // nvcc from PATH: its folder's parent is the toolkit.
    if (const char* path = std::getenv("PATH")) {
      std::istringstream dirs(path);
      for (std::string d; std::getline(dirs, d, ':');)
        if (fs::exists(fs::path(d) / "nvcc", ec)) {
          p = fs::path(d) / "nvcc";
          break;
        }
    }
  }
  if (!p.empty()) {
    const fs::path real = fs::weakly_canonical(p, ec);
    if (!ec && fs::exists(real.parent_path() / "ptxas", ec)) return real.parent_path().parent_path().string();
  }
  return "/usr/local/cuda";
}

std::string archs_flags(const CudaArchs& a) {
  std::vector<int> all = a.cubin;
  for (int x : a.ptx) add_unique(all, x);
  std::string f;
  for (int x : all) f += " --cuda-gpu-arch=sm_" + std::to_string(x);
  return f;
}

// The paths clang needs: the toolkit, CUDA 13's libcu++ headers (cccl), the stub header and the templates.
std::string include_flags(const ClangCuda& cc, const Toolchain& tc, const fs::path& stub_dir) {
  return " --cuda-path=" + shell_quote(cc.cuda_root) + " -isystem " + shell_quote(cc.cuda_root + "/include/cccl") + " -I" +
         shell_quote(stub_dir.string()) + " -I" + shell_quote(tc.source_dir);
}

// clang's CUDA wrapper includes texture_fetch_functions.h, which CUDA 13 no longer ships; the templates use no
// textures, so an empty header stands in (written into this build's scratch folder, never the user's).
fs::path write_stub_headers(const fs::path& work) {
  const fs::path dir = work / "clang-include";
  fs::create_directories(dir);
  std::ofstream(dir / "texture_fetch_functions.h") << "// Empty: CUDA 13 dropped this header, clang's CUDA wrapper still includes it.\n";
  return dir;
}

}  // namespace

CudaArchs parse_cuda_archs(const std::string& nvcc_flags) {
  CudaArchs a;
  std::istringstream words(nvcc_flags);
  for (std::string w; words >> w;) {
    // -gencode=arch=compute_XX,code=... or -gencode arch=compute_XX,code=...
    if (const auto at = w.find(",code="); at != std::string::npos && w.find("arch=compute_") != std::string::npos) {
      add_code(a, w.substr(at + 6));
    } else if (w.rfind("-arch=sm_", 0) == 0 || w.rfind("--gpu-architecture=sm_", 0) == 0) {
      const int sm = std::atoi(w.c_str() + w.find("sm_") + 3);
      add_unique(a.cubin, sm);
      add_unique(a.ptx, sm);
    }
  }
  if (a.cubin.empty() && a.ptx.empty()) a.cubin = {90};
  return a;
}

ClangCuda find_clang_cuda(const Toolchain& tc) {
  ClangCuda cc;
  const char* env = std::getenv("TSC_CLANG");
  cc.clang = env && *env ? env : "clang++-19";
  cc.cuda_root = cuda_root_of(tc.nvcc);
  cc.archs = parse_cuda_archs(tc.compile_flags);
  return cc;
}

std::string clang_cuda_identity(const ClangCuda& cc) {
  std::ostringstream quiet;
  std::string clang;
  try {
    clang = run_command(shell_quote(cc.clang) + " --version", "running " + cc.clang, false, quiet);
  } catch (const Error&) {
    throw Error("--cuda-compiler clang: '" + cc.clang + "' cannot be run",
                "install clang-19 (Debian: apt-get install clang-19), point TSC_CLANG at a clang++ that targets sm_90, or use --cuda-compiler nvcc");
  }
  const std::string ptxas = run_command(shell_quote(cc.cuda_root + "/bin/ptxas") + " --version", "running ptxas", false, quiet);
  return clang + ptxas;
}

std::string clang_cuda_flags(const ClangCuda& cc) {
  std::string f = "-x cuda -std=c++17 -O3 -Wno-unknown-cuda-version" + archs_flags(cc.archs) + " | images";
  for (int x : cc.archs.cubin) f += " sm_" + std::to_string(x);
  for (int x : cc.archs.ptx) f += " compute_" + std::to_string(x);
  return f;
}

void clang_cuda_ptx(const ClangCuda& cc, const Toolchain& tc, const std::string& cu, int sm, const std::string& ptx, const std::string& work,
                    bool verbose, std::ostream& log) {
  const fs::path stub = write_stub_headers(work);
  run_command(shell_quote(cc.clang) + " -x cuda --cuda-device-only -S -std=c++17 -O3 -Wno-unknown-cuda-version --cuda-gpu-arch=sm_" +
                  std::to_string(sm) + include_flags(cc, tc, stub) + " " + shell_quote(cu) + " -o " + shell_quote(ptx),
              "compiling the generated CUDA kernels with clang (sm_" + std::to_string(sm) + ")", verbose, log);
}

void clang_cuda_object(const ClangCuda& cc, const Toolchain& tc, const std::string& cu, const std::string& obj, const std::string& work,
                       bool verbose, std::ostream& log) {
  std::vector<int> all = cc.archs.cubin;
  for (int x : cc.archs.ptx) add_unique(all, x);
  const std::string bin = cc.cuda_root + "/bin/";
  std::string images;
  for (int sm : all) {
    const std::string s = std::to_string(sm), ptx = (fs::path(work) / ("sm_" + s + ".ptx")).string();
    clang_cuda_ptx(cc, tc, cu, sm, ptx, work, verbose, log);
    if (std::find(cc.archs.cubin.begin(), cc.archs.cubin.end(), sm) != cc.archs.cubin.end()) {
      const std::string cubin = (fs::path(work) / ("sm_" + s + ".cubin")).string();
      run_command(shell_quote(bin + "ptxas") + " -arch=sm_" + s + " -m64 " + shell_quote(ptx) + " -o " + shell_quote(cubin),
                  "assembling clang's PTX with ptxas (sm_" + s + ")", verbose, log);
      images += " " + shell_quote("--image3=kind=elf,sm=" + s + ",file=" + cubin);
    }
    if (std::find(cc.archs.ptx.begin(), cc.archs.ptx.end(), sm) != cc.archs.ptx.end())
      images += " " + shell_quote("--image3=kind=ptx,sm=" + s + ",file=" + ptx);
  }
  const std::string fatbin = (fs::path(work) / "kernels.fatbin").string();
  run_command(shell_quote(bin + "fatbinary") + " -64 --create=" + shell_quote(fatbin) + images, "packing the device code with fatbinary", verbose, log);
  const fs::path stub = write_stub_headers(work);
  run_command(shell_quote(cc.clang) + " -x cuda --cuda-host-only -std=c++17 -O3 -fPIC -Wno-unknown-cuda-version" + archs_flags(cc.archs) +
                  include_flags(cc, tc, stub) + " -Xclang -fcuda-include-gpubinary -Xclang " + shell_quote(fatbin) + " -c " + shell_quote(cu) +
                  " -o " + shell_quote(obj),
              "compiling the host side of the CUDA kernels with clang", verbose, log);
}

}  // namespace tsc
