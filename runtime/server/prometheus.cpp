// render_metrics: counters, gauges and histograms, each with HELP and TYPE lines.
#include "runtime/server/prometheus.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace tsc {

namespace {

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

class Out {
 public:
  void head(const std::string& name, const char* type, const std::string& help) {
    o_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string& name, double v, const std::string& labels = {}) {
    o_ << name;
    if (!labels.empty()) o_ << "{" << labels << "}";
    o_ << " " << num(v) << "\n";
  }
  void metric(const std::string& name, const char* type, const std::string& help, double v) {
    head(name, type, help);
    sample(name, v);
  }
  void histogram(const std::string& name, const std::string& help, const Histogram& h, const std::string& labels = {}, bool with_head = true) {
    if (with_head) head(name, "histogram", help);
    const Histogram::Snapshot s = h.snapshot();
    const std::string sep = labels.empty() ? "" : labels + ",";
    uint64_t cum = 0;
    for (size_t i = 0; i < s.bounds.size(); ++i) {
      cum += s.counts[i];
      sample(name + "_bucket", static_cast<double>(cum), sep + "le=\"" + num(s.bounds[i]) + "\"");
    }
    cum += s.counts.back();
    sample(name + "_bucket", static_cast<double>(cum), sep + "le=\"+Inf\"");
    sample(name + "_sum", s.sum, labels);
    sample(name + "_count", static_cast<double>(s.count), labels);
  }
  std::string str() const { return o_.str(); }

 private:
  std::ostringstream o_;
};

}  // namespace

std::string render_metrics(const MetricsInput& in) {
  Out o;
  const SchedStats& s = in.stats;
  o.head("tsc_info", "gauge", "The served model and build (value 1).");
  o.sample("tsc_info", 1, "model=\"" + escape(in.model_name) + "\",target=\"" + escape(in.target) + "\",page_size=\"" + std::to_string(in.page_size) +
                              "\",top_k_pages=\"" + std::to_string(in.top_k_pages) + "\",max_batch=\"" + std::to_string(in.max_running) + "\"");

  o.head("tsc_requests_total", "counter", "HTTP requests by route and status code.");
  for (auto& [key, n] : in.requests)
    o.sample("tsc_requests_total", static_cast<double>(n), "route=\"" + escape(key.first) + "\",status=\"" + std::to_string(key.second) + "\"");
  o.metric("tsc_requests_in_flight", "gauge", "Generation requests (prompts) accepted and not finished.", static_cast<double>(s.requests_in_flight));
  o.metric("tsc_requests_finished_total", "counter", "Generation requests (prompts) finished, all choices done.", static_cast<double>(s.requests_finished));
  o.metric("tsc_sequences_running", "gauge", "Sequences in the running batch (prefilling or decoding).", static_cast<double>(s.running));
  o.metric("tsc_sequences_waiting", "gauge", "Sequences waiting for admission (new or preempted).", static_cast<double>(s.waiting));
  o.head("tsc_sequences_finished_total", "counter", "Sequences (choices) finished, by finish reason.");
  for (const char* r : {"stop", "length", "abort", "error"}) {
    auto it = s.sequences_finished.find(r);
    o.sample("tsc_sequences_finished_total", it == s.sequences_finished.end() ? 0.0 : static_cast<double>(it->second), std::string("reason=\"") + r + "\"");
  }
  o.metric("tsc_preemptions_total", "counter", "Sequences preempted (pages freed, recomputed later) because KV pages ran out.", static_cast<double>(s.preemptions));

  o.histogram("tsc_queue_time_seconds", "Time from arrival to first admission into the batch, per prompt.", in.hist->queue_time);
  o.histogram("tsc_time_to_first_token_seconds", "Time from arrival to the first generated token, per prompt.", in.hist->ttft);
  o.histogram("tsc_inter_token_latency_seconds", "Time between consecutive tokens of one sequence.", in.hist->itl);
  o.histogram("tsc_request_latency_seconds", "Time from arrival to the last choice finished, per prompt.", in.hist->e2e);

  o.metric("tsc_prompt_tokens_total", "counter", "Prompt tokens of accepted requests.", static_cast<double>(s.prompt_tokens));
  o.metric("tsc_prefill_tokens_total", "counter", "Tokens computed by prefill (prompt tokens not served by the prefix cache, recomputation included).",
           static_cast<double>(s.prefill_tokens));
  o.metric("tsc_generation_tokens_total", "counter", "Tokens generated.", static_cast<double>(s.generated_tokens));
  o.metric("tsc_generation_tokens_per_second", "gauge", "Tokens generated per second over the last 10 seconds.", s.tokens_per_second);
  o.metric("tsc_steps_total", "counter", "Engine steps (one forward pass over a batch).", static_cast<double>(s.steps));

  // Idle cached pages are free to allocate (evicted on demand), as vLLM counts them.
  const double free_pages = static_cast<double>(s.kv_pages_free + s.kv_pages_cached_idle);
  o.metric("tsc_kv_pages_total", "gauge", "KV-cache pages in the pool.", static_cast<double>(s.kv_pages_total));
  o.metric("tsc_kv_pages_free", "gauge", "KV-cache pages free to allocate (unused, or holding an idle cached prefix).", free_pages);
  o.metric("tsc_kv_pages_used", "gauge", "KV-cache pages held by sequences.", static_cast<double>(s.kv_pages_total) - free_pages);
  o.metric("tsc_kv_pages_unallocated", "gauge", "KV-cache pages with no owner at all.", static_cast<double>(s.kv_pages_free));
  o.metric("tsc_kv_pages_cached", "gauge", "KV-cache pages holding a reusable prompt prefix (in use or idle).", static_cast<double>(s.kv_pages_cached));
  o.metric("tsc_kv_usage_ratio", "gauge", "Fraction of KV-cache pages held by sequences.",
           s.kv_pages_total ? (static_cast<double>(s.kv_pages_total) - free_pages) / static_cast<double>(s.kv_pages_total) : 0.0);
  o.metric("tsc_prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", static_cast<double>(s.prefix_lookup_tokens));
  o.metric("tsc_prefix_cache_hits_total", "counter", "Prompt tokens served from the prefix cache (their KV pages reused).", static_cast<double>(s.prefix_hit_tokens));
  o.metric("tsc_prefix_cache_hit_ratio", "gauge", "Prefix-cache hits / queries since start.",
           s.prefix_lookup_tokens ? static_cast<double>(s.prefix_hit_tokens) / static_cast<double>(s.prefix_lookup_tokens) : 0.0);
  o.metric("tsc_prefix_cache_evictions_total", "counter", "Idle cached pages evicted to make room.", static_cast<double>(s.prefix_evictions));

  // Page selection: per decode attention of one (sequence, layer), summed over KV heads.
  const SelectionCounters& c = s.selection;
  o.metric("tsc_selection_decode_attentions_total", "counter", "Decode attentions (one per sequence and layer).", static_cast<double>(c.decode_calls));
  o.metric("tsc_selection_pages_candidate_total", "counter", "Pages a dense decode would read (summed over KV heads and layers).", static_cast<double>(c.pages_total));
  o.metric("tsc_selection_pages_scored_total", "counter", "Pages scored by their key bounds.", static_cast<double>(c.pages_scored));
  o.metric("tsc_selection_pages_kept_total", "counter", "Pages attended to after selection.", static_cast<double>(c.pages_kept));
  // Bytes read: kept pages' K and V plus the bounds of scored pages, against every page's K and V.
  const double layers = static_cast<double>(std::max<int64_t>(1, s.num_layers));
  const double kv_bytes = static_cast<double>(s.page_bytes) / layers - static_cast<double>(s.bound_bytes);
  const double read = static_cast<double>(c.pages_kept) * kv_bytes + static_cast<double>(c.pages_scored) * static_cast<double>(s.bound_bytes);
  o.metric("tsc_selection_kv_read_ratio", "gauge", "KV bytes decode attention read (kept pages + scored pages' bounds) / what dense attention reads.",
           c.pages_total ? read / (static_cast<double>(c.pages_total) * kv_bytes) : 1.0);
  o.head("tsc_selection_layer_pages_kept_total", "counter", "Pages attended to after selection, per layer.");
  for (size_t l = 0; l < c.kept_per_layer.size(); ++l)
    o.sample("tsc_selection_layer_pages_kept_total", static_cast<double>(c.kept_per_layer[l]), "layer=\"" + std::to_string(l) + "\"");
  o.head("tsc_selection_layer_pages_candidate_total", "counter", "Pages a dense decode would read, per layer.");
  for (size_t l = 0; l < c.total_per_layer.size(); ++l)
    o.sample("tsc_selection_layer_pages_candidate_total", static_cast<double>(c.total_per_layer[l]), "layer=\"" + std::to_string(l) + "\"");
  o.head("tsc_selection_layer_kept_ratio", "gauge", "Pages kept / pages a dense decode reads, per layer (1 = dense).");
  for (size_t l = 0; l < c.kept_per_layer.size() && l < c.total_per_layer.size(); ++l)
    o.sample("tsc_selection_layer_kept_ratio",
             c.total_per_layer[l] ? static_cast<double>(c.kept_per_layer[l]) / static_cast<double>(c.total_per_layer[l]) : 1.0,
             "layer=\"" + std::to_string(l) + "\"");

  if (in.profile) {
    o.head("tsc_step_seconds", "histogram", "Forward-pass time per engine step, by the batch's kind.");
    o.histogram("tsc_step_seconds", "", in.hist->step_prefill, "kind=\"prefill\"", false);
    o.histogram("tsc_step_seconds", "", in.hist->step_decode, "kind=\"decode\"", false);
    o.histogram("tsc_step_seconds", "", in.hist->step_mixed, "kind=\"mixed\"", false);
    o.histogram("tsc_sampling_seconds", "Sampling time per engine step (all sequences of the batch).", in.hist->sampling);
    o.histogram("tsc_schedule_seconds", "Scheduler planning time per iteration.", in.hist->planning);
    o.histogram("tsc_step_tokens", "Tokens per engine step (decodes + prefill chunks).", in.hist->step_tokens);
  }
  return o.str();
}

}  // namespace tsc
