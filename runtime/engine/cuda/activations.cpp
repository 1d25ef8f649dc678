// Activations::reserve: buffer sizes of one step.
#include "runtime/engine/cuda/activations.h"

#include <algorithm>

namespace tsc::cuda {

bool Activations::grow(DevBuf& b, int64_t bytes) {
  if (static_cast<size_t>(bytes) <= b.bytes) return false;
  b.reserve(static_cast<size_t>(bytes) * 2, "allocating activations");
  return true;
}

bool Activations::reserve(const HostStep& st, const DecoderSpec& s, const BuildOptions& opt, size_t esize, int32_t score_scratch, cudaStream_t stream) {
  const int64_t T = std::max<int64_t>(st.T, 1), R = std::max<int64_t>(st.R, 1), nd = std::max<int64_t>(st.nd, 1);
  const int64_t H = s.hidden_size, Q = s.num_attention_heads * s.head_dim, KV = s.num_key_value_heads * s.head_dim, I = s.intermediate_size;
  const int64_t QKV = Q + 2 * KV, U = s.mlp_gated ? 2 * I : I, E = static_cast<int64_t>(esize);
  bool moved = false;
  moved |= grow(x, T * H * 4);
  moved |= grow(h, T * H * E);
  moved |= grow(qkv, T * QKV * E);
  moved |= grow(attn, T * Q * E);
  moved |= grow(o, T * H * E);
  moved |= grow(up, T * U * E);
  moved |= grow(act, T * I * E);
  moved |= grow(mlp, T * H * E);
  moved |= grow(sel, R * H * E);
  moved |= grow(logits, R * s.vocab_size * 4);
  moved |= grow(ids, R * 4);
  moved |= grow(part_o, nd * s.num_attention_heads * st.splits * s.head_dim * 4);
  moved |= grow(part_ml, nd * s.num_attention_heads * st.splits * 2 * 4);
  if (grow(counters, nd * s.num_key_value_heads * 4)) {
    moved = true;
    check(cudaMemsetAsync(counters.p, 0, counters.bytes, stream), "clearing decode counters");
  }
  if (grow(arrive, nd * s.num_key_value_heads * 4)) {
    moved = true;
    check(cudaMemsetAsync(arrive.p, 0, arrive.bytes, stream), "clearing decode barriers");
  }
  moved |= grow(scores, nd * s.num_key_value_heads * st.max_pages * score_scratch * 4);
  if (st.trace) {  // eager steps only (no graph holds it); -1 marks the rows of dense attention
    const size_t bytes = static_cast<size_t>(trace_row(st, s, opt, s.num_hidden_layers, 0)) * 4;
    trace.reserve(bytes, "allocating the selection trace");
    check(cudaMemsetAsync(trace.p, 0xff, bytes, stream), "clearing the selection trace");
  }
  return moved;
}

}  // namespace tsc::cuda
