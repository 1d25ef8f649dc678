// ChatTemplate: parse once, render per request with transformers' variables.
#include "runtime/chat/chat_template.h"

#include "runtime/chat/eval.h"
#include "runtime/chat/parser.h"
#include "contract/error.h"

namespace tsc {

struct ChatTemplate::Parsed {
  std::string raw;
  chat::SourceText src;
  chat::Body body;
  explicit Parsed(std::string source) : raw(std::move(source)), src(raw), body(chat::parse(src)) {}
};

ChatTemplate::ChatTemplate(std::string source) : parsed_(std::make_shared<const Parsed>(std::move(source))) {}

const std::string& ChatTemplate::source() const { return parsed_->raw; }

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const std::string& bos_token, const std::string& eos_token) const {
  using chat::Value;
  std::vector<Value> list;
  for (const auto& m : messages) {
    chat::Dict d;
    d.items = {{"role", Value::string(m.role)}, {"content", Value::string(m.content)}};
    list.push_back(Value::dict(std::move(d)));
  }
  chat::Dict vars;
  vars.items = {{"messages", Value::list(std::move(list))},
                // transformers passes these two explicitly as None, so `tools is defined` holds.
                {"tools", Value::none()},
                {"documents", Value::none()},
                {"add_generation_prompt", Value::boolean(add_generation_prompt)},
                {"bos_token", Value::string(bos_token)},
                {"eos_token", Value::string(eos_token)}};
  return chat::render(parsed_->src, parsed_->body, vars);
}

namespace {

template <class Json>
chat::Dict variables_from(const Json& j) {
  if (!j.is_object())
    throw Error("chat template variables must be a JSON object", "pass {\"messages\": [...], ...}");
  try {
    return chat::Value::from_json(j).dict();
  } catch (const chat::OpError& e) {
    throw Error(std::string("chat template variables: ") + e.what());
  }
}

}  // namespace

std::string ChatTemplate::render_json(const nlohmann::json& variables) const {
  return chat::render(parsed_->src, parsed_->body, variables_from(variables));
}

std::string ChatTemplate::render_json(const nlohmann::ordered_json& variables) const {
  return chat::render(parsed_->src, parsed_->body, variables_from(variables));
}

}  // namespace tsc
