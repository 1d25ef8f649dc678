// Chat templates: renders a model's HF chat_template (Jinja2, from tokenizer_config.json) into prompt text.
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace tsc {

struct ChatMessage {
  std::string role, content;
};

// A parsed chat template. tsc implements the subset of Jinja2 that chat templates use (runtime/chat/README.md)
// and renders it as transformers' apply_chat_template does: trim_blocks and lstrip_blocks on, tojson without
// HTML escaping, raise_exception(), strftime_now(), namespace(). Rendering is const and thread-safe.
class ChatTemplate {
 public:
  // Parses; throws tsc::Error on syntax errors and on tags outside the subset, naming line and column.
  explicit ChatTemplate(std::string source);

  // The prompt for a conversation, with the variables transformers passes (tools and documents as None).
  // Throws tsc::Error when the template raises (raise_exception's message is the error's message) or uses
  // a filter, test or method outside the subset on the path these messages take.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const std::string& bos_token, const std::string& eos_token) const;

  // General form for tests/extensions: any JSON object of variables (messages with tool_calls, tools, ...).
  // nlohmann::json sorts object keys; pass an ordered_json to keep the order the template iterates dicts
  // and tojson prints them in (Python keeps insertion order).
  std::string render_json(const nlohmann::json& variables) const;
  std::string render_json(const nlohmann::ordered_json& variables) const;

  const std::string& source() const;

 private:
  struct Parsed;
  std::shared_ptr<const Parsed> parsed_;
};

}  // namespace tsc
