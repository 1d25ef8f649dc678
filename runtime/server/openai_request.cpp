// parse_api_request: OpenAI's request fields (and vLLM's common extensions) with their types and ranges.
#include "runtime/server/openai_request.h"

#include <cmath>
#include <limits>
#include <set>

#include "contract/error.h"
#include "contract/build_options.h"

namespace tsc {

namespace {

using nlohmann::json;

std::string type_name(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

ApiError wrong_type(const std::string& field, const char* want, const json& v) {
  return bad_request(field + " must be " + want + ", got " + type_name(v), field, "see the OpenAI API reference for this field");
}

// Each getter returns nullopt for an absent or null field and throws for a value of the wrong type.
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<bool> get_bool(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw wrong_type(name, "a boolean", *v);
  return v->get<bool>();
}

std::optional<double> get_number(const json& body, const char* name, double lo, double hi, const char* range) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw wrong_type(name, "a number", *v);
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi) || std::isnan(x))
    throw bad_request(std::string(name) + " must be " + range + ", got " + v->dump(), name, "pass a value in range, or leave the field out");
  return x;
}

std::optional<int64_t> get_int(const json& body, const char* name, int64_t lo, int64_t hi, const std::string& hint) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) throw wrong_type(name, "an integer", *v);
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw bad_request(std::string(name) + " is too large: " + v->dump(), name, hint);
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi)
    throw bad_request(std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(x), name, hint);
  return x;
}

std::optional<std::string> get_string(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw wrong_type(name, "a string", *v);
  return v->get<std::string>();
}

std::vector<int32_t> token_ids(const json& arr, const std::string& name) {
  std::vector<int32_t> ids;
  for (auto& t : arr) {
    if (!t.is_number_integer()) throw wrong_type(name, "an array of integer token ids", t);
    const int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > (1ull << 31) ? -1 : t.get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max())
      throw bad_request(name + " holds token id " + t.dump() + ", which is not a valid id", name, "send ids from this model's vocabulary");
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

void parse_prompt(const json& body, ApiRequest& r) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) throw bad_request("prompt is required", "prompt", "send \"prompt\": \"text\" (or token ids)");
  const json& p = *it;
  if (p.is_string()) {
    r.prompts.push_back({p.get<std::string>(), {}});
    return;
  }
  if (!p.is_array()) throw wrong_type("prompt", "a string, an array of strings, an array of token ids or an array of such arrays", p);
  if (p.empty()) throw bad_request("prompt is an empty array", "prompt", "send at least one prompt");
  if (p[0].is_number()) {
    r.prompts.push_back({std::nullopt, token_ids(p, "prompt")});
    return;
  }
  for (auto& e : p) {
    if (e.is_string()) r.prompts.push_back({e.get<std::string>(), {}});
    else if (e.is_array()) r.prompts.push_back({std::nullopt, token_ids(e, "prompt")});
    else throw wrong_type("prompt", "a string, an array of strings, an array of token ids or an array of such arrays", e);
  }
  if (r.prompts.size() > 256) throw bad_request("prompt holds " + std::to_string(r.prompts.size()) + " prompts; at most 256 are accepted", "prompt", "split the batch into several requests");
}

void parse_messages(const json& body, ApiRequest& r) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) throw bad_request("messages is required", "messages", "send \"messages\": [{\"role\": \"user\", \"content\": \"...\"}]");
  if (!it->is_array()) throw wrong_type("messages", "an array of messages", *it);
  if (it->empty()) throw bad_request("messages is empty", "messages", "send at least one message");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw wrong_type(where, "an object with role and content", m);
    ApiRequest::Message msg;
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) throw bad_request(where + ".role must be a string", where + ".role", "e.g. \"role\": \"user\"");
    msg.role = role->get<std::string>();
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      msg.content = "";
    } else if (content->is_string()) {
      msg.content = content->get<std::string>();
    } else if (content->is_array()) {
      for (auto& part : *content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          throw bad_request(where + ".content holds a part that is not {\"type\": \"text\", \"text\": ...}", where + ".content", "this server takes text only");
        if (!msg.content.empty()) msg.content += "\n";
        msg.content += part["text"].get<std::string>();
      }
    } else {
      throw wrong_type(where + ".content", "a string or an array of text parts", *content);
    }
    for (auto& [k, v] : m.items())
      if (k != "role" && k != "content" && k != "name" && !(k == "tool_calls" && v.is_array() && v.empty()) && !v.is_null())
        throw bad_request(where + "." + k + " is not supported", where + "." + k, "send role and content only");
    r.messages.push_back(std::move(msg));
  }
}

}  // namespace

ApiRequest parse_api_request(const json& body, bool chat, const ApiLimits& limits) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object, got " + type_name(body), "", "send {\"model\": ..., \"prompt\": ...}");
  static const std::set<std::string> common = {
      "model", "max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop", "n", "stream", "stream_options",
      "presence_penalty", "frequency_penalty", "repetition_penalty", "logprobs", "user", "logit_bias", "ignore_eos",
      "skip_special_tokens", "return_token_ids", "tsc"};
  static const std::set<std::string> completion_only = {"prompt", "echo", "suffix", "best_of"};
  static const std::set<std::string> chat_only = {"messages", "top_logprobs", "max_completion_tokens", "add_generation_prompt",
                                                  "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls",
                                                  "response_format", "store", "metadata", "service_tier", "modalities"};
  for (auto& [k, v] : body.items())
    if (!common.count(k) && !(chat ? chat_only : completion_only).count(k))
      throw bad_request("unrecognized request argument: " + k, k, chat ? "see the chat completions API reference" : "see the completions API reference");
  ApiRequest r;
  r.chat = chat;
  r.model = get_string(body, "model");
  if (chat) parse_messages(body, r);
  else parse_prompt(body, r);

  SamplingParams& s = r.sampling;
  if (auto v = get_number(body, "temperature", 0, 2, "in [0, 2]")) s.temperature = static_cast<float>(*v);
  if (auto v = get_number(body, "top_p", 0, 1, "in (0, 1]")) {
    if (*v <= 0) throw bad_request("top_p must be in (0, 1], got " + body["top_p"].dump(), "top_p", "use 1 to turn nucleus sampling off");
    s.top_p = static_cast<float>(*v);
  }
  if (auto v = get_int(body, "top_k", -1, std::numeric_limits<int32_t>::max(), "use -1 or 0 to turn top-k off")) s.top_k = *v < 0 ? 0 : static_cast<int32_t>(*v);
  if (auto v = get_number(body, "min_p", 0, 1, "in [0, 1]")) s.min_p = static_cast<float>(*v);
  if (auto v = get_number(body, "presence_penalty", -2, 2, "in [-2, 2]")) s.presence_penalty = static_cast<float>(*v);
  if (auto v = get_number(body, "frequency_penalty", -2, 2, "in [-2, 2]")) s.frequency_penalty = static_cast<float>(*v);
  if (auto v = get_number(body, "repetition_penalty", 1e-3, 100, "in (0, 100]")) s.repetition_penalty = static_cast<float>(*v);
  if (auto v = get_int(body, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), "")) s.seed = static_cast<uint64_t>(*v);

  const char* max_name = "max_tokens";
  std::optional<int64_t> mt = get_int(body, "max_tokens", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), "");
  if (chat && !mt) {
    mt = get_int(body, "max_completion_tokens", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), "");
    max_name = "max_completion_tokens";
  }
  r.max_tokens = mt;
  if (auto v = get_int(body, "n", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), "")) {
    if (*v < 1 || *v > limits.max_n)
      throw bad_request("n must be in [1, " + std::to_string(limits.max_n) + "], got " + std::to_string(*v), "n", "ask for fewer choices, or start the server with a larger --max-batch");
    r.n = static_cast<int32_t>(*v);
  }
  if (const json* st = field(body, "stop")) {
    if (st->is_string()) {
      r.stop.push_back(st->get<std::string>());
    } else if (st->is_array()) {
      for (auto& e : *st) {
        if (!e.is_string()) throw wrong_type("stop", "a string or an array of strings", e);
        r.stop.push_back(e.get<std::string>());
      }
    } else {
      throw wrong_type("stop", "a string or an array of strings", *st);
    }
    if (r.stop.size() > 16) throw bad_request("stop holds " + std::to_string(r.stop.size()) + " strings; at most 16 are accepted", "stop", "use fewer stop strings");
    for (auto& x : r.stop)
      if (x.empty()) throw bad_request("stop holds an empty string", "stop", "leave empty strings out");
  }
  r.stream = get_bool(body, "stream").value_or(false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw wrong_type("stream_options", "an object", *so);
    if (!r.stream) throw bad_request("stream_options is only allowed with stream: true", "stream_options", "set stream to true or drop stream_options");
    for (auto& [k, v] : so->items()) {
      if (k == "include_usage") {
        if (!v.is_boolean()) throw wrong_type("stream_options.include_usage", "a boolean", v);
        r.include_usage = v.get<bool>();
      } else if (k != "continuous_usage_stats") {
        throw bad_request("unrecognized stream option: " + k, "stream_options", "the supported option is include_usage");
      }
    }
  }
  if (chat) {
    r.sampling.logprobs = get_bool(body, "logprobs").value_or(false);
    if (auto v = get_int(body, "top_logprobs", 0, kMaxTopLogprobs, "ask for at most " + std::to_string(kMaxTopLogprobs))) {
      if (*v > 0 && !r.sampling.logprobs) throw bad_request("top_logprobs needs logprobs: true", "top_logprobs", "set logprobs to true");
      r.sampling.top_logprobs = static_cast<int32_t>(*v);
    }
    r.add_generation_prompt = get_bool(body, "add_generation_prompt").value_or(true);
    for (const char* k : {"tools", "functions"})
      if (const json* v = field(body, k); v && !(v->is_array() && v->empty()))
        throw bad_request(std::string(k) + " is not supported by this server", k, "send plain messages");
    for (const char* k : {"tool_choice", "function_call"})
      if (const json* v = field(body, k); v && !(v->is_string() && v->get<std::string>() == "none"))
        throw bad_request(std::string(k) + " is not supported by this server", k, "leave it out");
    if (const json* v = field(body, "response_format"); v && !(v->is_object() && v->value("type", "") == "text"))
      throw bad_request("response_format other than {\"type\": \"text\"} is not supported", "response_format", "leave it out");
  } else {
    r.echo = get_bool(body, "echo").value_or(false);
    if (const json* v = field(body, "logprobs")) {
      if (v->is_boolean()) throw wrong_type("logprobs", "an integer (the number of alternatives, 0 to 20)", *v);
      const int64_t k = *get_int(body, "logprobs", 0, kMaxTopLogprobs, "ask for at most " + std::to_string(kMaxTopLogprobs) + " alternatives");
      r.sampling.logprobs = true;
      r.sampling.top_logprobs = static_cast<int32_t>(k);
    }
    if (auto v = get_string(body, "suffix"); v && !v->empty()) throw bad_request("suffix is not supported by this server", "suffix", "leave it out");
    if (auto v = get_int(body, "best_of", 1, 1 << 20, ""); v && *v != r.n) throw bad_request("best_of other than n is not supported", "best_of", "leave it out");
  }
  if (r.max_tokens && (*r.max_tokens < 0 || (*r.max_tokens == 0 && !(r.echo && !chat))))
    throw bad_request(std::string(max_name) + " must be at least 1, got " + std::to_string(*r.max_tokens), max_name,
                      "ask for at least one token (0 is allowed with echo, to score the prompt)");
  if (const json* v = field(body, "logit_bias"); v && !(v->is_object() && v->empty()))
    throw bad_request("logit_bias is not supported by this server", "logit_bias", "leave it out");
  get_string(body, "user");
  r.ignore_eos = get_bool(body, "ignore_eos").value_or(false);
  r.skip_special_tokens = get_bool(body, "skip_special_tokens").value_or(true);
  r.return_token_ids = get_bool(body, "return_token_ids");
  if (const json* t = field(body, "tsc")) {
    if (!t->is_object()) throw wrong_type("tsc", "an object, e.g. {\"top_k_pages\": 32} or {\"dense\": true}", *t);
    for (auto& [k, v] : t->items())
      if (k != "top_k_pages" && k != "dense" && k != "select_every")
        throw bad_request("unrecognized tsc option: " + k, "tsc." + k, "tsc takes top_k_pages, dense or select_every");
    const bool dense = get_bool(*t, "dense").value_or(false);
    auto k = get_int(*t, "top_k_pages", 0, limits.top_k_pages,
                     "this executable keeps at most " + std::to_string(limits.top_k_pages) + " pages; rebuild with a larger --top-k-pages for more");
    if (k && *k == 1) throw bad_request("tsc.top_k_pages must be 0 (dense) or at least 2, got 1", "tsc.top_k_pages", "the first and the last page are always kept");
    if (dense && k && *k != 0) throw bad_request("tsc.dense and tsc.top_k_pages disagree", "tsc", "pass one of them");
    if (dense) r.budget = 0;
    else if (k) r.budget = *k;
    if (auto e = get_int(*t, "select_every", 1, kMaxSelectEvery, "use 1 to score pages every decode step, or up to " + std::to_string(kMaxSelectEvery)))
      r.select_every = *e;
  }
  try {
    r.sampling.validate();
  } catch (const Error& e) {
    throw bad_request(e.what(), "", e.hint());
  }
  return r;
}

}  // namespace tsc
