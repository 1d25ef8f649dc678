// The forward pass's device buffers, sized for the largest step seen; growing one moves it, which
// invalidates captured CUDA graphs.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "contract/payload.h"
#include "runtime/engine/cuda/device.h"
#include "runtime/engine/cuda/step_meta.h"

namespace tsc::cuda {

struct Activations {
  // T token rows, R logits rows, nd decode sequences, S decode splits; E the weight element size.
  DevBuf x;                       // [T, H] f32 residual stream
  DevBuf h, o, mlp;               // [T, H] E: normed input, attention output projection, MLP output
  DevBuf qkv;                     // [T, Q + 2 KV] E
  DevBuf attn;                    // [T, Q] E
  DevBuf up;                      // [T, U] E (U = 2 I for gated MLPs: [gate | up])
  DevBuf act;                     // [T, I] E
  DevBuf sel;                     // [R, H] E: the rows that need logits
  DevBuf logits;                  // [R, V] f32
  DevBuf ids;                     // [R] int32 greedy tokens
  DevBuf part_o, part_ml;         // [nd, heads, S, head_dim] and [nd, heads, S, 2] f32 split-decode partials
  DevBuf counters, arrive;        // [nd, hkv] int32, kept zero between steps by the kernels
  DevBuf scores;                  // [nd, hkv, max_pages, score_scratch] f32 page scores (KernelTable::score_scratch)
  DevBuf trace;                   // [layers, nd, hkv, top_k] int32 selection trace (eager steps only)

  // Grows what the step needs (twice over, so that graphs are rarely re-captured); true if a buffer moved.
  bool reserve(const HostStep& st, const DecoderSpec& s, const BuildOptions& o, size_t esize, int32_t score_scratch, cudaStream_t stream);

 private:
  bool grow(DevBuf& b, int64_t bytes);
};

}  // namespace tsc::cuda
