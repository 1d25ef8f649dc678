// Blas: cuBLASLt plans, timed once per decode shape (the default heuristic picked split-K plans that ran
// several times slower than a single pass at decode batches).
#include "runtime/engine/cuda/blas.h"

#include "runtime/engine/cuda/device.h"

namespace tsc::cuda {

Blas::Blas(cudaStream_t stream, DType weight_dtype) : stream_(stream), weight_dtype_(weight_dtype) {
  check(cublasCreate(&blas_), "cublasCreate");
  check(cublasSetStream(blas_, stream_), "cublasSetStream");
  check(cudaMalloc(&ws_, kWorkspace), "allocating the cuBLAS workspace");
  check(cublasSetWorkspace(blas_, ws_, kWorkspace), "cublasSetWorkspace");
}

Blas::~Blas() {
  if (blas_) cublasDestroy(blas_);
  if (ws_) cudaFree(ws_);
}

Blas::Plan Blas::make_plan(const void* x, int64_t M, int64_t K, const void* W, int64_t N, void* y, int32_t out_f32, bool tune) {
  const cudaDataType_t t = weight_dtype_ == DType::kBF16 ? CUDA_R_16BF : CUDA_R_16F;
  const cudaDataType_t ct = out_f32 ? CUDA_R_32F : t;
  const float alpha = 1.f, beta = 0.f;
  // Row-major y[M,N] = x[M,K] W^T is column-major y^T[N,M] = op_T(W as col-major [K,N]) x^T ([K,M]).
  Plan p;
  check(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  const cublasOperation_t tr = CUBLAS_OP_T;
  check(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &tr, sizeof tr), "cublasLt transa");
  check(cublasLtMatrixLayoutCreate(&p.a, t, static_cast<uint64_t>(K), static_cast<uint64_t>(N), K), "cublasLt layout");
  check(cublasLtMatrixLayoutCreate(&p.b, t, static_cast<uint64_t>(K), static_cast<uint64_t>(M), K), "cublasLt layout");
  check(cublasLtMatrixLayoutCreate(&p.c, ct, static_cast<uint64_t>(N), static_cast<uint64_t>(M), N), "cublasLt layout");
  cublasLtMatmulPreference_t pref;
  check(cublasLtMatmulPreferenceCreate(&pref), "cublasLt preference");
  const size_t ws = kWorkspace;
  check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws), "cublasLt preference");
  cublasLtMatmulHeuristicResult_t res[8];
  int n = 0;
  cublasLtMatmulAlgoGetHeuristic(lt_, p.op, p.a, p.b, p.c, p.c, pref, 8, res, &n);
  cublasLtMatmulPreferenceDestroy(pref);
  float best = 1e30f;
  for (int i = 0; i < n; ++i) {
    if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
    if (!tune) { p.algo = res[i].algo; p.has_algo = true; break; }
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    bool ok = cublasLtMatmul(lt_, p.op, &alpha, W, p.a, x, p.b, &beta, y, p.c, y, p.c, &res[i].algo, ws_, ws, stream_) == CUBLAS_STATUS_SUCCESS;
    cudaEventRecord(e0, stream_);
    for (int r = 0; ok && r < 3; ++r)
      ok = cublasLtMatmul(lt_, p.op, &alpha, W, p.a, x, p.b, &beta, y, p.c, y, p.c, &res[i].algo, ws_, ws, stream_) == CUBLAS_STATUS_SUCCESS;
    cudaEventRecord(e1, stream_);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    if (ok && ms < best) { best = ms; p.algo = res[i].algo; p.has_algo = true; }
  }
  return p;
}

void Blas::matmul(const void* x, int64_t M, int64_t K, const void* W, int64_t N, void* y, int32_t out_f32, bool decode_step, bool capturing) {
  if (!lt_) check(cublasLtCreate(&lt_), "cublasLtCreate");
  const float alpha = 1.f, beta = 0.f;
  auto key = std::make_tuple(M, N, K, out_f32, decode_step);
  auto it = plans_.find(key);
  // Decode steps' shapes repeat every step: time them. Prefill shapes (any prompt length) take the
  // heuristic's first choice: timing 8 candidates on a prompt's first step cost ~60 ms of its TTFT.
  if (it == plans_.end()) it = plans_.emplace(key, make_plan(x, M, K, W, N, y, out_f32, M <= 512 && decode_step && !capturing)).first;
  const Plan& p = it->second;
  check(cublasLtMatmul(lt_, p.op, &alpha, W, p.a, x, p.b, &beta, y, p.c, y, p.c, p.has_algo ? &p.algo : nullptr, ws_, kWorkspace, stream_),
        "cublasLtMatmul");
}

}  // namespace tsc::cuda
