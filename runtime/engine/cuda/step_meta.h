// One step's metadata packed on the host for a single upload: token ids and positions, KV append units,
// logits rows, the decode and prefill sequences with their page tables, and the launch shape.
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "contract/payload.h"
#include "runtime/engine/backend.h"
#include "runtime/kv/select_reuse.h"

namespace tsc::cuda {

struct HostStep {
  std::vector<int32_t> packed;  // every array below, each 128-byte aligned; off_* index into it
  size_t off_tok = 0, off_pos = 0, off_units = 0, off_rows = 0, off_drow = 0, off_dlen = 0, off_dpt = 0, off_ps = 0, off_pl = 0,
         off_pkv = 0, off_ppt = 0, off_dslot = 0, off_dfrom = 0;
  int64_t T = 0, R = 0, num_units = 0, nd = 0, np = 0;  // token rows, logits rows, append units, decode / prefill sequences
  int32_t max_pages = 1, max_q = 0, splits = 1;        // page-table width, longest prefill chunk, decode splits
  std::vector<std::pair<int64_t, int64_t>> decode_runs;  // [begin, end) of decode sequences sharing a budget
  std::vector<int32_t> run_budget;
  int64_t bucket = 0;  // > 0: a graph-replayable decode step
  bool trace = false;  // some decode sequence records its selection
};

// What packing needs besides the sequences.
struct StepLimits {
  const Payload* payload;
  int64_t max_pages_cap;   // page-table width of graph steps: pages of max_seq_len
  int32_t scratch_page;    // page id that padding rows write
  int32_t sm_count;        // the GPU's multiprocessors (decode splits)
  const std::vector<SelectSlots::Plan>* reuse = nullptr;  // per sequence: its kept-set row and reuse (--select-every)
};

// Validates the sequences (token ids, budgets, lengths, options the CUDA target lacks) and packs them;
// a step of graph bucket `bucket` > 0 is padded with dummy decode rows to that many and takes fixed shapes.
HostStep pack_step(std::span<const StepSeq> seqs, int64_t bucket, const StepLimits& lim);

// Index of the selection trace row of decode sequence d in layer l: trace buffers are [layers, nd, hkv, top_k].
int64_t trace_row(const HostStep& st, const DecoderSpec& s, const BuildOptions& o, int64_t l, int64_t d);

}  // namespace tsc::cuda
