// The CUDA compiler choice (nvcc | clang) and clang's CUDA path: device PTX from LLVM's NVPTX back end, cubins
// from ptxas, one fatbinary, and the host side compiled by clang with that device image embedded.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/driver/build.h"

namespace tsc {

// `option` (--cuda-compiler), else $TSC_CUDA_COMPILER, else nvcc; throws tsc::Error naming a value that is
// neither nvcc nor clang.
CudaCompiler resolve_cuda_compiler(std::optional<CudaCompiler> option);

// The device images nvcc's flags ask for: -gencode=arch=compute_XX,code=sm_XX (a cubin for sm_XX) and
// code=compute_XX (PTX kept for the driver's JIT); -arch=sm_XX alone means both, as for nvcc.
struct CudaArchs {
  std::vector<int> cubin;  // e.g. {80, 90}
  std::vector<int> ptx;
};
CudaArchs parse_cuda_archs(const std::string& nvcc_flags);

// Where clang and the CUDA tools are: $TSC_CLANG or clang++-19 on PATH; the CUDA root above nvcc
// (ptxas, fatbinary, include/cccl).
struct ClangCuda {
  std::string clang, cuda_root;
  CudaArchs archs;
};
ClangCuda find_clang_cuda(const Toolchain& tc);

// Versions of clang and ptxas, for the kernel cache's key (throws tsc::Error when clang cannot be run).
std::string clang_cuda_identity(const ClangCuda& cc);

// Flags that shape the generated code, without this machine's paths (the cache key's part).
std::string clang_cuda_flags(const ClangCuda& cc);

// PTX of the CUDA source `cu` for one sm_XX, written to `ptx`; `work` is a scratch folder of this process.
void clang_cuda_ptx(const ClangCuda& cc, const Toolchain& tc, const std::string& cu, int sm, const std::string& ptx, const std::string& work,
                    bool verbose, std::ostream& log);

// The whole object: PTX per architecture, ptxas cubins, fatbinary, host compile embedding it -> `obj`.
void clang_cuda_object(const ClangCuda& cc, const Toolchain& tc, const std::string& cu, const std::string& obj, const std::string& work,
                       bool verbose, std::ostream& log);

}  // namespace tsc
