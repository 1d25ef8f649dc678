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
  const bool labeled = in.engines.size() > 1;
  auto dev = [&](const EngineMetrics& e) { return labeled ? "device=\"" + escape(e.device) + "\"" : std::string(); };
  auto with = [&](const EngineMetrics& e, const std::string& more) { return labeled ? dev(e) + "," + more : more; };
  // One series per engine: a head, then each engine's sample.
  auto each = [&](const std::string& name, const char* type, const std::string& help, auto value) {
    o.head(name, type, help);
    for (const EngineMetrics& e : in.engines) o.sample(name, static_cast<double>(value(e)), dev(e));
  };
  auto hist = [&](const std::string& name, const std::string& help, Histogram SchedHistograms::*h) {
    o.head(name, "histogram", help);
    for (const EngineMetrics& e : in.engines) o.histogram(name, "", e.hist->*h, dev(e), false);
  };
  o.head("tsc_info", "gauge", "The served model and build (value 1).");
  o.sample("tsc_info", 1, "model=\"" + escape(in.model_name) + "\",target=\"" + escape(in.target) + "\",page_size=\"" + std::to_string(in.page_size) +
                              "\",top_k_pages=\"" + std::to_string(in.top_k_pages) + "\",max_batch=\"" + std::to_string(in.max_running) + "\"");

  o.head("tsc_requests_total", "counter", "HTTP requests by route and status code.");
  for (auto& [key, n] : in.requests)
    o.sample("tsc_requests_total", static_cast<double>(n), "route=\"" + escape(key.first) + "\",status=\"" + std::to_string(key.second) + "\"");
  if (labeled) {
    each("tsc_engine_up", "gauge", "1 while the engine serves, 0 once it has failed (the router sends it nothing more).", [](auto& e) { return e.up ? 1 : 0; });
    o.head("tsc_router_requests_total", "counter", "Requests the router sent to each engine, by why: prefix-cache affinity or load.");
    for (const EngineMetrics& e : in.engines) {
      o.sample("tsc_router_requests_total", static_cast<double>(e.routed_affine), with(e, "reason=\"affinity\""));
      o.sample("tsc_router_requests_total", static_cast<double>(e.routed_load), with(e, "reason=\"load\""));
    }
  }
  each("tsc_requests_in_flight", "gauge", "Generation requests (prompts) accepted and not finished.", [](auto& e) { return e.stats.requests_in_flight; });
  each("tsc_requests_finished_total", "counter", "Generation requests (prompts) finished, all choices done.", [](auto& e) { return e.stats.requests_finished; });
  each("tsc_sequences_running", "gauge", "Sequences in the running batch (prefilling or decoding).", [](auto& e) { return e.stats.running; });
  each("tsc_sequences_waiting", "gauge", "Sequences waiting for admission (new or preempted).", [](auto& e) { return e.stats.waiting; });
  o.head("tsc_sequences_finished_total", "counter", "Sequences (choices) finished, by finish reason.");
  for (const EngineMetrics& e : in.engines)
    for (const char* r : {"stop", "length", "abort", "error"}) {
      auto it = e.stats.sequences_finished.find(r);
      o.sample("tsc_sequences_finished_total", it == e.stats.sequences_finished.end() ? 0.0 : static_cast<double>(it->second), with(e, std::string("reason=\"") + r + "\""));
    }
  each("tsc_preemptions_total", "counter", "Sequences preempted (pages freed, recomputed later) because KV pages ran out.", [](auto& e) { return e.stats.preemptions; });

  hist("tsc_queue_time_seconds", "Time from arrival to first admission into the batch, per prompt.", &SchedHistograms::queue_time);
  hist("tsc_time_to_first_token_seconds", "Time from arrival to the first generated token, per prompt.", &SchedHistograms::ttft);
  hist("tsc_inter_token_latency_seconds", "Time between consecutive tokens of one sequence.", &SchedHistograms::itl);
  hist("tsc_request_latency_seconds", "Time from arrival to the last choice finished, per prompt.", &SchedHistograms::e2e);

  each("tsc_prompt_tokens_total", "counter", "Prompt tokens of accepted requests.", [](auto& e) { return e.stats.prompt_tokens; });
  each("tsc_prefill_tokens_total", "counter", "Tokens computed by prefill (prompt tokens not served by the prefix cache, recomputation included).",
       [](auto& e) { return e.stats.prefill_tokens; });
  each("tsc_generation_tokens_total", "counter", "Tokens generated.", [](auto& e) { return e.stats.generated_tokens; });
  each("tsc_generation_tokens_per_second", "gauge", "Tokens generated per second over the last 10 seconds.", [](auto& e) { return e.stats.tokens_per_second; });
  each("tsc_steps_total", "counter", "Engine steps (one forward pass over a batch).", [](auto& e) { return e.stats.steps; });

  // Idle cached pages are free to allocate (evicted on demand), as vLLM counts them.
  auto free_pages = [](const EngineMetrics& e) { return static_cast<double>(e.stats.kv_pages_free + e.stats.kv_pages_cached_idle); };
  auto used = [&](const EngineMetrics& e) { return static_cast<double>(e.stats.kv_pages_total) - free_pages(e); };
  each("tsc_kv_pages_total", "gauge", "KV-cache pages in the pool.", [](auto& e) { return e.stats.kv_pages_total; });
  each("tsc_kv_pages_free", "gauge", "KV-cache pages free to allocate (unused, or holding an idle cached prefix).", free_pages);
  each("tsc_kv_pages_used", "gauge", "KV-cache pages held by sequences.", used);
  each("tsc_kv_pages_unallocated", "gauge", "KV-cache pages with no owner at all.", [](auto& e) { return e.stats.kv_pages_free; });
  each("tsc_kv_pages_cached", "gauge", "KV-cache pages holding a reusable prompt prefix (in use or idle).", [](auto& e) { return e.stats.kv_pages_cached; });
  each("tsc_kv_usage_ratio", "gauge", "Fraction of KV-cache pages held by sequences.",
       [&](auto& e) { return e.stats.kv_pages_total ? used(e) / static_cast<double>(e.stats.kv_pages_total) : 0.0; });
  each("tsc_prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", [](auto& e) { return e.stats.prefix_lookup_tokens; });
  each("tsc_prefix_cache_hits_total", "counter", "Prompt tokens served from the prefix cache (their KV pages reused).", [](auto& e) { return e.stats.prefix_hit_tokens; });
  each("tsc_prefix_cache_hit_ratio", "gauge", "Prefix-cache hits / queries since start.", [](auto& e) {
    return e.stats.prefix_lookup_tokens ? static_cast<double>(e.stats.prefix_hit_tokens) / static_cast<double>(e.stats.prefix_lookup_tokens) : 0.0;
  });
  each("tsc_prefix_cache_evictions_total", "counter", "Idle cached pages evicted to make room.", [](auto& e) { return e.stats.prefix_evictions; });

  // Page selection: per decode attention of one (sequence, layer), summed over KV heads.
  each("tsc_selection_decode_attentions_total", "counter", "Decode attentions (one per sequence and layer).", [](auto& e) { return e.stats.selection.decode_calls; });
  each("tsc_selection_pages_candidate_total", "counter", "Pages a dense decode would read (summed over KV heads and layers).",
       [](auto& e) { return e.stats.selection.pages_total; });
  each("tsc_selection_pages_scored_total", "counter", "Pages scored by their key bounds.", [](auto& e) { return e.stats.selection.pages_scored; });
  each("tsc_selection_pages_kept_total", "counter", "Pages attended to after selection.", [](auto& e) { return e.stats.selection.pages_kept; });
  // Bytes read: kept pages' K and V plus the bounds of scored pages, against every page's K and V.
  each("tsc_selection_kv_read_ratio", "gauge", "KV bytes decode attention read (kept pages + scored pages' bounds) / what dense attention reads.", [](auto& e) {
    const SchedStats& s = e.stats;
    const SelectionCounters& c = s.selection;
    const double layers = static_cast<double>(std::max<int64_t>(1, s.num_layers));
    const double kv_bytes = static_cast<double>(s.page_bytes) / layers - static_cast<double>(s.bound_bytes);
    const double read = static_cast<double>(c.pages_kept) * kv_bytes + static_cast<double>(c.pages_scored) * static_cast<double>(s.bound_bytes);
    return c.pages_total ? read / (static_cast<double>(c.pages_total) * kv_bytes) : 1.0;
  });
  auto per_layer = [&](const std::string& name, const char* type, const std::string& help, auto value) {
    o.head(name, type, help);
    for (const EngineMetrics& e : in.engines) {
      const SelectionCounters& c = e.stats.selection;
      for (size_t l = 0; l < c.kept_per_layer.size() && l < c.total_per_layer.size(); ++l)
        o.sample(name, value(c, l), with(e, "layer=\"" + std::to_string(l) + "\""));
    }
  };
  per_layer("tsc_selection_layer_pages_kept_total", "counter", "Pages attended to after selection, per layer.",
            [](const SelectionCounters& c, size_t l) { return static_cast<double>(c.kept_per_layer[l]); });
  per_layer("tsc_selection_layer_pages_candidate_total", "counter", "Pages a dense decode would read, per layer.",
            [](const SelectionCounters& c, size_t l) { return static_cast<double>(c.total_per_layer[l]); });
  per_layer("tsc_selection_layer_kept_ratio", "gauge", "Pages kept / pages a dense decode reads, per layer (1 = dense).", [](const SelectionCounters& c, size_t l) {
    return c.total_per_layer[l] ? static_cast<double>(c.kept_per_layer[l]) / static_cast<double>(c.total_per_layer[l]) : 1.0;
  });

  if (in.profile) {
    o.head("tsc_step_seconds", "histogram", "Forward-pass time per engine step, by the batch's kind.");
    for (const EngineMetrics& e : in.engines) {
      o.histogram("tsc_step_seconds", "", e.hist->step_prefill, with(e, "kind=\"prefill\""), false);
      o.histogram("tsc_step_seconds", "", e.hist->step_decode, with(e, "kind=\"decode\""), false);
      o.histogram("tsc_step_seconds", "", e.hist->step_mixed, with(e, "kind=\"mixed\""), false);
    }
    hist("tsc_sampling_seconds", "Sampling time per engine step (all sequences of the batch).", &SchedHistograms::sampling);
    hist("tsc_schedule_seconds", "Scheduler planning time per iteration.", &SchedHistograms::planning);
    hist("tsc_step_tokens", "Tokens per engine step (decodes + prefill chunks).", &SchedHistograms::step_tokens);
  }
  return o.str();
}

}  // namespace tsc
