// Completion: request -> token ids -> scheduler; scheduler events -> OpenAI response bodies and SSE chunks.
#include "runtime/server/completion.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <random>

#include "runtime/sample/stop_matcher.h"
#include "contract/error.h"
#ifdef TSC_HAVE_CHAT  // defined where runtime/chat is built (runtime/CMakeLists.txt)
#include "runtime/chat/chat_template.h"
#endif

namespace tsc {

using nlohmann::json;

namespace {

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// JSON has no -inf; OpenAI-compatible servers report a very unlikely token as -9999.
double finite(float lp) { return std::isfinite(lp) ? static_cast<double>(lp) : -9999.0; }

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += hex[rng() % 16];
  return id;
}

struct Completion::PromptInfo {
  std::vector<int32_t> ids;
  std::string echo_text;               // completions with echo: the prompt as text
  std::vector<size_t> echo_offsets;    // echo + logprobs: text offset (code points) of each prompt token
  std::vector<TokenLogprob> prompt_lp; // echo + logprobs: positions 1..len-1
};

struct Completion::Choice {
  size_t prompt = 0;
  std::optional<IncrementalDecoder> dec;
  std::optional<StopMatcher> stop;
  std::string text;                 // released text (stop strings cut out)
  size_t sent = 0;                  // stream: bytes of text already sent
  std::vector<int32_t> ids;         // generated ids
  size_t ids_sent = 0;
  std::vector<TokenLogprob> lps;    // logprobs of generated tokens
  std::vector<size_t> offsets;      // code-point offset of each generated token in the generated text
  size_t lps_sent = 0;
  size_t decoded_cp = 0;            // code points decoded so far (before stop truncation)
  std::string finish;               // empty while running
  bool started = false, finish_sent = false;
};

Completion::Completion(const ServeContext& ctx, ApiRequest req) : ctx_(ctx), req_(std::move(req)) {
  id_ = random_id(req_.chat ? "chatcmpl-" : "cmpl-");
  created_ = static_cast<int64_t>(std::time(nullptr));
  rec_.id = id_;
  rec_.stream = req_.stream;
  if (req_.model && *req_.model != ctx_.model_name)
    throw ApiError{404, "The model '" + *req_.model + "' does not exist", "model", "this server serves '" + ctx_.model_name + "' (GET /v1/models)", "model_not_found"};
  return_ids_ = req_.return_token_ids.value_or(ctx_.tok == nullptr);
  if (!ctx_.tok && !req_.stop.empty())
    throw bad_request("this executable has no tokenizer, so it cannot match stop strings", "stop", "leave stop out, or rebuild with tsc --tokenizer DIR");
  tokenize();
  std::vector<GenerationRequest> gens;
  for (auto& p : prompts_) {
    const int64_t len = static_cast<int64_t>(p.ids.size());
    const char* where = req_.chat ? "messages" : "prompt";
    if (len == 0) throw bad_request(std::string("the ") + (req_.chat ? "rendered conversation" : "prompt") + " has no tokens", where, "send some text");
    int64_t mt = req_.max_tokens ? *req_.max_tokens : req_.chat ? ctx_.max_seq_len - len : std::min<int64_t>(16, ctx_.max_seq_len - len);
    if (len + std::max<int64_t>(mt, 1) > ctx_.max_seq_len + (mt == 0 ? 1 : 0) || mt < 0)
      throw bad_request("This model's maximum context length is " + std::to_string(ctx_.max_seq_len) + " tokens. However, you requested " +
                            std::to_string(len + std::max<int64_t>(mt, 0)) + " tokens (" + std::to_string(len) + " in the " + (req_.chat ? "messages" : "prompt") + ", " +
                            std::to_string(std::max<int64_t>(mt, 0)) + " in the completion)",
                        req_.max_tokens ? "max_tokens" : where, "reduce the length of the prompt or of max_tokens", "context_length_exceeded");
    GenerationRequest g;
    g.prompt = p.ids;
    g.sampling = req_.sampling;
    g.n = req_.n;
    g.max_tokens = mt;
    g.budget = req_.budget;
    g.select_every = req_.select_every;
    if (!req_.ignore_eos) g.stop_ids = ctx_.eos_ids;
    g.prompt_logprobs = (req_.echo && req_.sampling.logprobs) || mt == 0;
    rec_.prompt_tokens += len;
    gens.push_back(std::move(g));
  }
  choices_.resize(prompts_.size() * static_cast<size_t>(req_.n));
  for (size_t i = 0; i < choices_.size(); ++i) {
    Choice& c = choices_[i];
    c.prompt = i / static_cast<size_t>(req_.n);
    if (ctx_.tok) c.dec.emplace(*ctx_.tok, req_.skip_special_tokens);
    c.stop.emplace(req_.stop);
  }
  open_ = static_cast<int32_t>(choices_.size());
  rec_.choices = open_;
  try {
    Router::Routed r = ctx_.router->submit(std::move(gens));
    stream_ = std::move(r.stream);
    engine_ = r.engine;
  } catch (const QueueFull& e) {
    throw ApiError{503, e.what(), "", e.hint(), "server_overloaded"};
  } catch (const EngineDown& e) {
    throw ApiError{503, e.what(), "", e.hint(), "engine_failed"};
  } catch (const Error& e) {
    throw bad_request(e.what(), "", e.hint());
  }
}

Completion::~Completion() {
  if (stream_ && open_ > 0) stream_->cancel();
}

void Completion::tokenize() {
  const Tokenizer* tok = ctx_.tok;
  if (req_.chat) {
    if (!tok) throw bad_request("this executable has no tokenizer, so it cannot serve chat", "messages", "use /v1/completions with token ids, or rebuild with tsc --tokenizer DIR");
#ifdef TSC_HAVE_CHAT
    if (!ctx_.chat) throw bad_request(ctx_.chat_error, "messages", "use /v1/completions, or rebuild with a tokenizer_config.json that has a chat_template");
    std::vector<ChatMessage> msgs;
    for (auto& m : req_.messages) msgs.push_back(ChatMessage{m.role, m.content});
    std::string text;
    try {
      text = ctx_.chat->render(msgs, req_.add_generation_prompt, ctx_.bos_token, ctx_.eos_token);
    } catch (const Error& e) {
      throw bad_request(std::string("the chat template rejected the messages: ") + e.what(), "messages", e.hint().empty() ? "check the roles and their order" : e.hint());
    }
    // The template writes the special tokens itself (as transformers' apply_chat_template).
    prompts_.push_back(PromptInfo{tok->encode(text, /*add_special_tokens=*/false), {}, {}, {}});
#else
    throw bad_request("this build of model_server has no chat template support", "messages", "use /v1/completions");
#endif
    return;
  }
  for (size_t i = 0; i < req_.prompts.size(); ++i) {
    auto& p = req_.prompts[i];
    PromptInfo info;
    if (p.text) {
      if (!tok) throw bad_request("this executable has no tokenizer, so prompt must be token ids", "prompt", "send \"prompt\": [1, 2, 3], or rebuild with tsc --tokenizer DIR");
      info.ids = tok->encode(*p.text, /*add_special_tokens=*/true);
      info.echo_text = *p.text;
    } else {
      info.ids = std::move(p.ids);
      for (int32_t t : info.ids)
        if (t >= ctx_.vocab)
          throw bad_request("prompt holds token id " + std::to_string(t) + ", outside the vocabulary [0, " + std::to_string(ctx_.vocab) + ")", "prompt", "send ids from this model's tokenizer");
      if (req_.echo && tok) info.echo_text = tok->decode(info.ids, /*skip_special_tokens=*/false);
    }
    if (req_.echo && req_.sampling.logprobs && tok) {
      IncrementalDecoder d(*tok, false);
      size_t cp = 0;
      for (int32_t t : info.ids) {
        info.echo_offsets.push_back(cp);
        cp += code_points(d.push(t));
      }
    }
    prompts_.push_back(std::move(info));
  }
}

std::string Completion::token_text(int32_t id) const {
  return ctx_.tok ? ctx_.tok->decode({id}, /*skip_special_tokens=*/false) : std::to_string(id);
}

void Completion::end_choice(Choice& c, const std::string& reason) {
  if (!c.finish.empty()) return;
  c.finish = reason;
  rec_.finish.push_back(reason);
  --open_;
}

void Completion::on_event(Event& e) {
  if (e.kind == Event::Kind::kPromptLogprobs) {
    prompts_[static_cast<size_t>(e.choice / req_.n)].prompt_lp = std::move(e.prompt);
    return;
  }
  Choice& c = choices_[static_cast<size_t>(e.choice)];
  if (!c.finish.empty()) return;  // ended by a stop string; the scheduler's last tokens are dropped
  if (e.kind == Event::Kind::kToken) {
    if (rec_.ttft_s < 0) rec_.ttft_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    ++rec_.completion_tokens;
    c.ids.push_back(e.token.token);
    if (req_.sampling.logprobs) {
      c.lps.push_back(std::move(e.token));
      c.offsets.push_back(c.decoded_cp);
    }
    if (!e.stop_token && c.dec) {
      const std::string delta = c.dec->push(c.ids.back());
      c.decoded_cp += code_points(delta);
      c.text += c.stop->push(delta);
      if (c.stop->stopped()) {
        end_choice(c, "stop");
        stream_->cancel_choice(e.choice);
      }
    }
    return;
  }
  // kFinish
  std::string reason = finish_reason_name(e.finish);
  if (e.finish == FinishReason::kError) error_ = e.error.empty() ? "the engine failed" : e.error;
  if (c.dec) {
    c.text += c.stop->push(c.dec->flush());
    if (c.stop->stopped()) reason = "stop";
    else c.text += c.stop->flush();
  }
  end_choice(c, reason);
}

json Completion::completion_logprobs(const Choice& c, size_t from) const {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  const PromptInfo& p = prompts_[c.prompt];
  size_t base = 0;
  if (req_.echo) {
    base = code_points(p.echo_text);
    if (from == 0 && !c.started) {
      for (size_t j = 0; j < p.ids.size(); ++j) {
        tokens.push_back(token_text(p.ids[j]));
        offsets.push_back(j < p.echo_offsets.size() ? p.echo_offsets[j] : 0);
        if (j == 0 || j - 1 >= p.prompt_lp.size()) {
          lps.push_back(nullptr);
          tops.push_back(nullptr);
          continue;
        }
        const TokenLogprob& t = p.prompt_lp[j - 1];
        lps.push_back(finite(t.logprob));
        json top = json::object();
        for (auto& [id, lp] : t.top) top[token_text(id)] = finite(lp);
        top[token_text(t.token)] = finite(t.logprob);
        tops.push_back(top);
      }
    }
  }
  for (size_t k = from; k < c.lps.size(); ++k) {
    const TokenLogprob& t = c.lps[k];
    tokens.push_back(token_text(t.token));
    lps.push_back(finite(t.logprob));
    json top = json::object();
    for (auto& [id, lp] : t.top) top[token_text(id)] = finite(lp);
    top[token_text(t.token)] = finite(t.logprob);  // the sampled token is always there (OpenAI)
    tops.push_back(top);
    offsets.push_back(base + c.offsets[k]);
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json Completion::chat_logprobs(const Choice& c, size_t from) const {
  json content = json::array();
  for (size_t k = from; k < c.lps.size(); ++k) {
    const TokenLogprob& t = c.lps[k];
    const std::string s = token_text(t.token);
    json top = json::array();
    for (auto& [id, lp] : t.top) {
      const std::string ts = token_text(id);
      top.push_back({{"token", ts}, {"logprob", finite(lp)}, {"bytes", bytes_of(ts)}});
    }
    content.push_back({{"token", s}, {"logprob", finite(t.logprob)}, {"bytes", bytes_of(s)}, {"top_logprobs", top}});
  }
  return {{"content", content}, {"refusal", nullptr}};
}

json Completion::usage() const {
  return {{"prompt_tokens", rec_.prompt_tokens}, {"completion_tokens", rec_.completion_tokens}, {"total_tokens", rec_.prompt_tokens + rec_.completion_tokens}};
}

json Completion::chunk(Choice& c, size_t index) {
  const bool has_text = c.text.size() > c.sent, has_lp = c.lps.size() > c.lps_sent, has_ids = return_ids_ && c.ids.size() > c.ids_sent;
  const bool fin = !c.finish.empty() && !c.finish_sent, first = !c.started;
  const bool echo_now = first && req_.echo && !req_.chat;
  if (!has_text && !has_lp && !fin && !has_ids && !(first && (req_.chat || echo_now))) return nullptr;
  json ch = {{"index", index}};
  const std::string text = c.text.substr(c.sent);
  if (req_.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (first || has_text) delta["content"] = text;
    ch["delta"] = delta;
    ch["logprobs"] = req_.sampling.logprobs && has_lp ? chat_logprobs(c, c.lps_sent) : json(nullptr);
  } else {
    ch["text"] = (echo_now ? prompts_[c.prompt].echo_text : std::string()) + text;
    ch["logprobs"] = req_.sampling.logprobs && (has_lp || (echo_now)) ? completion_logprobs(c, c.lps_sent) : json(nullptr);
  }
  ch["finish_reason"] = fin ? json(c.finish) : json(nullptr);
  if (return_ids_) ch["token_ids"] = std::vector<int32_t>(c.ids.begin() + static_cast<std::ptrdiff_t>(c.ids_sent), c.ids.end());
  c.started = true;
  c.sent = c.text.size();
  c.lps_sent = c.lps.size();
  c.ids_sent = c.ids.size();
  if (fin) c.finish_sent = true;
  json out = {{"id", id_}, {"object", req_.chat ? "chat.completion.chunk" : "text_completion"}, {"created", created_}, {"model", ctx_.model_name}, {"choices", json::array({ch})}};
  if (req_.include_usage) out["usage"] = nullptr;
  return out;
}

json Completion::body() const {
  json choices = json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    json ch = {{"index", i}};
    if (req_.chat) {
      ch["message"] = {{"role", "assistant"}, {"content", c.text}};
      ch["logprobs"] = req_.sampling.logprobs ? chat_logprobs(c, 0) : json(nullptr);
    } else {
      ch["text"] = (req_.echo ? prompts_[c.prompt].echo_text : std::string()) + c.text;
      ch["logprobs"] = req_.sampling.logprobs ? completion_logprobs(c, 0) : json(nullptr);
    }
    ch["finish_reason"] = c.finish;
    if (return_ids_) ch["token_ids"] = c.ids;
    choices.push_back(ch);
  }
  return {{"id", id_}, {"object", req_.chat ? "chat.completion" : "text_completion"}, {"created", created_}, {"model", ctx_.model_name},
          {"choices", choices}, {"usage", usage()}};
}

bool Completion::run(const std::function<bool(const std::string&)>& write, const std::function<bool()>& alive) {
  std::vector<Event> events;
  auto gone = [&] {
    stream_->cancel();
    rec_.error = "client disconnected";
    return false;
  };
  while (open_ > 0) {
    events.clear();
    stream_->wait(events, std::chrono::milliseconds(100));
    if (!alive()) return gone();
    for (auto& e : events) on_event(e);
    if (req_.stream)
      for (size_t i = 0; i < choices_.size(); ++i) {
        json j = chunk(choices_[i], i);
        if (!j.is_null() && !write("data: " + dump(j) + "\n\n")) return gone();
      }
  }
  rec_.queue_s = stream_->queue_seconds();
  if (!error_.empty()) rec_.error = error_;
  if (!req_.stream) {
    if (!error_.empty()) return write(dump(error_body(generation_error())));
    return write(dump(body()));
  }
  if (!error_.empty() && !write("data: " + dump(error_body(generation_error())) + "\n\n")) return false;
  if (req_.include_usage) {
    json u = {{"id", id_}, {"object", req_.chat ? "chat.completion.chunk" : "text_completion"}, {"created", created_}, {"model", ctx_.model_name},
              {"choices", json::array()}, {"usage", usage()}};
    if (!write("data: " + dump(u) + "\n\n")) return false;
  }
  return write("data: [DONE]\n\n");
}

ApiError Completion::generation_error() const {
  // A failed engine is not a bug of this request: the router already sends new ones elsewhere.
  const bool engine_down = !ctx_.router->engine(engine_).load().failure.empty();
  return ApiError{500, "generation failed: " + error_, "",
                  engine_down ? "retry the request: the engine that ran it failed and takes no more work" : "this is a bug in model_server; please report it",
                  engine_down ? "engine_failed" : ""};
}

}  // namespace tsc
