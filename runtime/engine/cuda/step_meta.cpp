// pack_step: the host side of a CUDA step (validation, page tables, append units, decode splits).
#include "runtime/engine/cuda/step_meta.h"

#include <algorithm>
#include <string>

#include "contract/error.h"
#include "contract/payload_tensors.h"
#include "runtime/engine/select_diag.h"

namespace tsc::cuda {
namespace {

// Blocks per (sequence, KV head): enough to fill the GPU twice over, at least 8 kept pages per block.
int32_t decode_splits(int64_t nd, int32_t max_kept, int64_t num_kv_heads, int32_t sm_count) {
  if (nd == 0) return 1;
  const int64_t blocks = nd * num_kv_heads;
  int64_t s = (2 * sm_count + blocks - 1) / blocks;
  s = std::min<int64_t>(s, (max_kept + 7) / 8);
  return static_cast<int32_t>(std::clamp<int64_t>(s, 1, 32));
}

void check_seq(const StepSeq& q, const DecoderSpec& s, const BuildOptions& o, const Payload& p) {
  if (q.decode && q.n != 1) throw Error("decode step with " + std::to_string(q.n) + " tokens", "this is a bug in the runtime");
  if (q.budget > o.top_k_pages)
    throw Error("page budget " + std::to_string(q.budget) + " exceeds the compiled top-k capacity " + std::to_string(o.top_k_pages),
                "ask for at most " + std::to_string(o.top_k_pages) + " pages, or rebuild with a larger --top-k-pages");
  if (q.budget == 1) throw Error("page budget 1 cannot keep both the first and the last page", "use a budget of at least 2, or 0 for dense attention");
  if (q.diag && q.diag->replay) throw Error("--select-replay imposes a selection on the CPU target only", "replay with a --target cpu build; record here with --select-trace");
  check_select_every(q.select_every, "select_every");
  if (q.diag && q.diag->ablation != 0) throw Error("selection ablations (--select-reduce max, --no-sink, --select-score other than bound) run on the CPU target only", "rebuild with tsc --target cpu");
  const int64_t total = q.kv->num_tokens + q.n;
  if (total > o.max_seq_len) throw Error("sequence of " + std::to_string(total) + " tokens exceeds max_seq_len", "use shorter inputs");
  for (int64_t i = 0; i < q.n; ++i)
    if (q.tokens[i] < 0 || q.tokens[i] >= s.vocab_size)
      throw Error("token id " + std::to_string(q.tokens[i]) + " is outside the vocabulary [0, " + std::to_string(s.vocab_size) + ")", "pass ids produced by this model's tokenizer");
  if (s.position == PositionKind::kLearned && total > p.entry(tensors::embed_positions).shape[0])
    throw Error("position " + std::to_string(total - 1) + " exceeds the model's learned positions", "use shorter sequences");
}

}  // namespace

int64_t trace_row(const HostStep& st, const DecoderSpec& s, const BuildOptions& o, int64_t l, int64_t d) {
  return ((l * st.nd + d) * s.num_key_value_heads) * o.top_k_pages;
}

HostStep pack_step(std::span<const StepSeq> seqs, int64_t bucket, const StepLimits& lim) {
  const DecoderSpec& s = lim.payload->spec();
  const BuildOptions& o = lim.payload->options();
  const int64_t ps = o.page_size;
  HostStep st;
  st.bucket = bucket;
  std::vector<int32_t> tok, pos, units, rows, d_row, d_lens, d_pt, p_start, p_len, p_kv, p_pt, d_slot, d_from;
  std::vector<int64_t> dec_budget;
  int32_t max_kept = 1;
  for (auto& q : seqs) st.max_pages = std::max<int32_t>(st.max_pages, static_cast<int32_t>((q.kv->num_tokens + q.n + ps - 1) / ps));
  if (bucket > 0) st.max_pages = static_cast<int32_t>(lim.max_pages_cap);  // fixed shapes for graph replay
  int64_t row = 0;
  for (size_t qi = 0; qi < seqs.size(); ++qi) {
    const StepSeq& q = seqs[qi];
    check_seq(q, s, o, *lim.payload);
    st.trace = st.trace || (q.decode && q.diag && q.diag->trace);
    const int64_t start = q.kv->num_tokens, total = start + q.n;
    for (int64_t i = 0; i < q.n; ++i) {
      tok.push_back(q.tokens[i]);
      pos.push_back(static_cast<int32_t>(start + i));
    }
    for (int64_t t = start; t < total;) {  // one append unit per page receiving tokens
      const int64_t page_idx = t / ps, slot = t % ps, cnt = std::min(total - t, ps - slot);
      units.insert(units.end(), {static_cast<int32_t>(row + (t - start)), static_cast<int32_t>(cnt), q.kv->pages[page_idx], static_cast<int32_t>(slot)});
      t += cnt;
    }
    auto put_pages = [&](std::vector<int32_t>& pt) {
      const size_t at = pt.size();
      pt.resize(at + static_cast<size_t>(st.max_pages), lim.scratch_page);
      for (size_t j = 0; j < q.kv->pages.size() && j < static_cast<size_t>(st.max_pages); ++j) pt[at + j] = q.kv->pages[j];
    };
    if (q.decode) {
      d_row.push_back(static_cast<int32_t>(row));
      d_lens.push_back(static_cast<int32_t>(total));
      put_pages(d_pt);
      const int64_t npg = (total + ps - 1) / ps;
      max_kept = std::max<int32_t>(max_kept, static_cast<int32_t>(q.budget > 0 ? std::min(npg, q.budget) : npg));
      dec_budget.push_back(q.budget);
      const SelectSlots::Plan rp = lim.reuse ? (*lim.reuse)[qi] : SelectSlots::Plan{};
      d_slot.push_back(rp.slot);
      d_from.push_back(static_cast<int32_t>(rp.reuse_from));
    } else {
      p_start.push_back(static_cast<int32_t>(row));
      p_len.push_back(static_cast<int32_t>(q.n));
      p_kv.push_back(static_cast<int32_t>(start));
      put_pages(p_pt);
      st.max_q = std::max<int32_t>(st.max_q, static_cast<int32_t>(q.n));
    }
    if (q.all_logits) for (int64_t i = 0; i < q.n; ++i) rows.push_back(static_cast<int32_t>(row + i));
    else rows.push_back(static_cast<int32_t>(row + q.n - 1));
    row += q.n;
  }
  // Graph buckets: pad with dummy decode rows (token 0 at position 0 of a scratch page) up to the bucket.
  if (bucket > 0) {
    for (int64_t b = static_cast<int64_t>(seqs.size()); b < bucket; ++b) {
      tok.push_back(0);
      pos.push_back(0);
      units.insert(units.end(), {static_cast<int32_t>(row), 1, lim.scratch_page, 0});
      d_row.push_back(static_cast<int32_t>(row));
      d_lens.push_back(1);
      d_pt.resize(d_pt.size() + static_cast<size_t>(st.max_pages), lim.scratch_page);
      dec_budget.push_back(dec_budget.empty() ? 0 : dec_budget.back());
      d_slot.push_back(-1);
      d_from.push_back(0);
      rows.push_back(static_cast<int32_t>(row));
      ++row;
    }
    // Splits for the longest context the bucket may see, so one graph serves every step.
    const int64_t cap = lim.max_pages_cap;
    max_kept = static_cast<int32_t>(dec_budget[0] > 0 ? std::min<int64_t>(cap, dec_budget[0]) : cap);
  }
  st.T = row;
  st.R = static_cast<int64_t>(rows.size());
  st.num_units = static_cast<int64_t>(units.size() / 4);
  st.nd = static_cast<int64_t>(d_row.size());
  st.np = static_cast<int64_t>(p_start.size());
  st.splits = decode_splits(st.nd, max_kept, s.num_key_value_heads, lim.sm_count);
  for (int64_t i = 0; i < st.nd;) {
    int64_t j = i;
    while (j < st.nd && dec_budget[j] == dec_budget[i]) ++j;
    st.decode_runs.emplace_back(i, j);
    st.run_budget.push_back(static_cast<int32_t>(dec_budget[i]));
    i = j;
  }
  size_t at = 0;
  auto place = [&](const std::vector<int32_t>& v, size_t& off) {
    off = at;
    st.packed.resize(at + (v.size() + 31) / 32 * 32, 0);  // 128-byte aligned sub-arrays
    std::copy(v.begin(), v.end(), st.packed.begin() + static_cast<std::ptrdiff_t>(at));
    at = st.packed.size();
  };
  place(tok, st.off_tok);
  place(pos, st.off_pos);
  place(units, st.off_units);
  place(rows, st.off_rows);
  place(d_row, st.off_drow);
  place(d_lens, st.off_dlen);
  place(d_pt, st.off_dpt);
  place(p_start, st.off_ps);
  place(p_len, st.off_pl);
  place(p_kv, st.off_pkv);
  place(p_pt, st.off_ppt);
  place(d_slot, st.off_dslot);
  place(d_from, st.off_dfrom);
  return st;
}

}  // namespace tsc::cuda
