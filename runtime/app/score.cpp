// `model_server score`: float32 logits [batch, seq, vocab] for int64 ids [batch, seq], through the
// prefill path (all tokens at once, or in chunks with --prefill-chunk) or the paged decode path (one token per step, where selection acts;
// optionally after a dense prefill of the first tokens, as a served prompt).
#include <algorithm>
#include <cstring>
#include <iostream>

#include "runtime/app/commands.h"
#include "contract/error.h"
#include "runtime/core/npy.h"
#include "runtime/engine/engine.h"
#include "runtime/engine/select_diag.h"

namespace tsc {

// A --select-replay file: int32 of exactly `shape` (what --select-trace writes for the same input and build).
// Replays impose the design's selection only: an ablation's own ranking would not be what it is compared with.
static std::vector<int32_t> read_select_replay(const std::string& path, const std::vector<int64_t>& shape, int32_t flags) {
  if (flags != 0) throw Error("--select-replay imposes the design's selection; it does not combine with selection ablations", "drop --select-reduce, --no-sink and --select-score");
  NpyArray r = read_npy(path);
  if (r.dtype != DType::kI32 || r.shape != shape)
    throw Error("'" + path + "' must be " + tensor_type_str(DType::kI32, shape) + " (batch, seq, layers, kv_heads, top_k), got " + tensor_type_str(r.dtype, r.shape),
                "pass a --select-trace file written for the same input ids by an executable of the same model and --top-k-pages");
  std::vector<int32_t> v(r.bytes.size() / 4);
  std::memcpy(v.data(), r.bytes.data(), r.bytes.size());
  return v;
}

int cmd_score(const ScoreArgs& a) {
  NpyArray ids = read_npy(a.input_ids);
  if (ids.shape.size() != 2 || (ids.dtype != DType::kI64 && ids.dtype != DType::kI32))
    throw Error("'" + a.input_ids + "' must hold integer token ids of shape [batch, seq], got " + tensor_type_str(ids.dtype, ids.shape),
                "save a 2-D int64 array with numpy.save");
  const int64_t B = ids.shape[0], S = ids.shape[1];
  if (B == 0 || S == 0) throw Error("'" + a.input_ids + "' is empty", "pass at least one token");
  Engine eng(Payload::open(self_exe()), EngineOptions{a.kv_pages, 0});
  const int64_t V = eng.spec().vocab_size;
  int64_t budget = a.dense ? 0 : (a.top_k_pages >= 0 ? a.top_k_pages : eng.options().top_k_pages);
  const int64_t every = resolve_select_every(a.select_every, eng.options().select_every);
  if (a.no_sink && budget == 1) throw Error("--no-sink with a page budget of 1 keeps only the last page", "use a budget of at least 2");
  std::vector<int32_t> tok(static_cast<size_t>(B * S));
  for (int64_t i = 0; i < B * S; ++i) {
    int64_t v = ids.dtype == DType::kI64 ? reinterpret_cast<const int64_t*>(ids.bytes.data())[i] : reinterpret_cast<const int32_t*>(ids.bytes.data())[i];
    if (v < 0 || v >= V) throw Error("token id " + std::to_string(v) + " at flat index " + std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(V) + ")", "pass ids produced by this model's tokenizer");
    tok[i] = static_cast<int32_t>(v);
  }
  std::vector<SeqKv> seqs(static_cast<size_t>(B));
  std::vector<SelectDiag> diag;  // per sequence, decode mode with an ablation, a trace or a replay
  std::vector<float> out(static_cast<size_t>(B * S * V)), logits;
  if (a.mode == "prefill" && (!a.select_trace.empty() || !a.select_replay.empty()))
    throw Error("--select-trace and --select-replay record decode steps; prefill attention is dense", "add --mode decode");
  if (a.mode == "prefill") {
    // Every sequence's tokens [c0, c0 + n) in one step; logits come back sequence by sequence, [n, V] each.
    const int64_t chunk = a.prefill_chunk > 0 ? a.prefill_chunk : S;
    for (int64_t c0 = 0; c0 < S; c0 += chunk) {
      const int64_t n = std::min(chunk, S - c0);
      std::vector<StepSeq> step;
      for (int64_t b = 0; b < B; ++b) step.push_back(StepSeq{&seqs[b], tok.data() + b * S + c0, n, false, 0, true});
      eng.step(step, logits);
      for (int64_t b = 0; b < B; ++b) std::memcpy(out.data() + (b * S + c0) * V, logits.data() + b * n * V, static_cast<size_t>(n * V) * 4);
    }
  } else if (a.mode == "decode") {
    if (a.prefill_tokens < 0 || a.prefill_tokens >= S)
      throw Error("--prefill-tokens " + std::to_string(a.prefill_tokens) + " leaves nothing to decode in sequences of " + std::to_string(S) + " tokens",
                  "pass a count in [0, " + std::to_string(S - 1) + "]");
    // Serving's shape: a prompt prefilled densely (one row at a time: its logits are [N, vocab]), then decode.
    for (int64_t b = 0; b < B && a.prefill_tokens > 0; ++b) {
      std::vector<StepSeq> step{StepSeq{&seqs[b], tok.data() + b * S, a.prefill_tokens, false, 0, true}};
      eng.step(step, logits);
      std::memcpy(out.data() + b * S * V, logits.data(), static_cast<size_t>(a.prefill_tokens * V) * 4);
    }
    const int32_t ablation = select_ablation(a.select_reduce, a.no_sink, a.select_score);
    // Selection traces: [B, S, layers, kv_heads, top_k]; one step's slice per sequence is [layers, kv_heads, top_k].
    const int64_t step_io = eng.spec().num_hidden_layers * eng.spec().num_key_value_heads * eng.options().top_k_pages;
    std::vector<int64_t> io_shape{B, S, eng.spec().num_hidden_layers, eng.spec().num_key_value_heads, eng.options().top_k_pages};
    std::vector<int32_t> trace, replay;
    if (!a.select_trace.empty()) trace.assign(static_cast<size_t>(B * S * step_io), -1);
    if (!a.select_replay.empty()) replay = read_select_replay(a.select_replay, io_shape, ablation);
    // Diagnostics (select_diag.h) only where asked for: without them decode runs the production path.
    const bool diagnose = ablation != 0 || !trace.empty() || !replay.empty();
    diag.assign(diagnose ? static_cast<size_t>(B) : 0, SelectDiag{ablation});
    for (int64_t t = a.prefill_tokens; t < S; ++t) {
      std::vector<StepSeq> step;
      for (int64_t b = 0; b < B; ++b) {
        step.push_back(StepSeq{&seqs[b], tok.data() + b * S + t, 1, true, budget, false, every});
        if (!diagnose) continue;
        step.back().diag = &diag[b];
        if (!trace.empty()) diag[b].trace = trace.data() + (b * S + t) * step_io;
        if (!replay.empty()) diag[b].replay = replay.data() + (b * S + t) * step_io;
      }
      eng.step(step, logits);
      for (int64_t b = 0; b < B; ++b) std::memcpy(out.data() + (b * S + t) * V, logits.data() + b * V, V * 4);
    }
    if (!trace.empty()) write_npy(a.select_trace, DType::kI32, io_shape, trace.data());
  } else {
    throw Error("--mode must be prefill or decode, got '" + a.mode + "'", "use --mode prefill or --mode decode");
  }
  for (auto& s : seqs) eng.kv().free(s);
  write_npy(a.out, DType::kF32, {B, S, V}, out.data());
  const auto& c = eng.backend().counters();
  if (a.mode == "decode" && c.pages_total > 0)
    std::cerr << "score: decode attention kept " << c.pages_kept << " of " << c.pages_total << " pages ("
              << 100.0 * static_cast<double>(c.pages_kept) / static_cast<double>(c.pages_total) << "%)\n";
  if (!a.select_replay.empty()) {
    SelectDiag r;
    for (const SelectDiag& d : diag) r.replayed += d.replayed, r.replay_differs += d.replay_differs, r.replay_gap = std::max(r.replay_gap, d.replay_gap);
    std::cerr << "score: replayed " << r.replayed << " selections; " << r.replay_differs
              << " differ from this target's own top-k; largest score gap " << r.replay_gap << " of the scores' magnitude\n";
  }
  return 0;
}

}  // namespace tsc
