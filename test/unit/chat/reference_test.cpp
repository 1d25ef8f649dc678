// Chat templates rendered by tsc, byte for byte against Jinja2 as transformers runs it
// (test/gen/chat_template_ref.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/chat/chat_template.h"
#include "contract/error.h"

namespace tsc {
namespace {

using Json = nlohmann::ordered_json;  // keeps the key order Python's dicts had

const Json& ref() {
  static const Json data = [] {
    std::ifstream f(std::string(TSC_CHAT_REF_DIR) + "/chat_template_ref.json");
    if (!f) throw std::runtime_error("missing " TSC_CHAT_REF_DIR "/chat_template_ref.json");
    return Json::parse(f);
  }();
  return data;
}

std::string test_name(std::string s) {
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::vector<size_t> indices(const char* key) {
  std::vector<size_t> out(ref()[key].size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = i;
  return out;
}

// A case whose variables are just what ChatTemplate::render passes (role/content messages, the two tokens,
// add_generation_prompt, tools and documents as None) is rendered through render() as well.
bool fits_render_api(const Json& vars, std::vector<ChatMessage>& messages) {
  for (const auto& [k, v] : vars.items()) {
    if ((k == "tools" || k == "documents") && v.is_null()) continue;
    if (k != "messages" && k != "add_generation_prompt" && k != "bos_token" && k != "eos_token") return false;
  }
  for (const auto& m : vars["messages"]) {
    if (m.size() != 2 || !m.contains("role") || !m.contains("content") || !m["content"].is_string()) return false;
    messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  return true;
}

class Reference : public testing::TestWithParam<size_t> {};

TEST_P(Reference, MatchesJinja) {
  const Json& c = ref()["cases"][GetParam()];
  const std::string source = ref()["templates"][c["template"].get<std::string>()].get<std::string>();
  const Json& vars = ref()["variables"][c["variables"].get<size_t>()];
  SCOPED_TRACE(c["name"].get<std::string>());
  ChatTemplate tmpl(source);
  std::vector<ChatMessage> messages;
  bool api = fits_render_api(vars, messages);
  auto via_api = [&] {
    return tmpl.render(messages, vars["add_generation_prompt"].get<bool>(), vars["bos_token"].get<std::string>(),
                       vars["eos_token"].get<std::string>());
  };
  if (c.contains("output")) {
    const std::string want = c["output"].get<std::string>();
    std::string got;
    try {
      got = tmpl.render_json(vars);
    } catch (const Error& e) {
      // A build without ICU refuses letters outside ASCII in case mappings and repr (runtime/chat/unicode.h).
      if (std::string(e.what()).find("needs ICU") != std::string::npos) GTEST_SKIP() << e.what();
      throw;
    }
    EXPECT_EQ(got, want);
    if (api) {
      EXPECT_EQ(via_api(), want);
    }
  } else if (c.contains("raise")) {
    // raise_exception's message reaches the user unchanged.
    try {
      tmpl.render_json(vars);
      ADD_FAILURE() << "expected raise_exception(" << c["raise"] << ")";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c["raise"].get<std::string>());
    }
    if (api) {
      EXPECT_THROW(via_api(), Error);
    }
  } else {
    // Jinja raised (undefined value, type error, ...): tsc must raise too, saying where.
    try {
      tmpl.render_json(vars);
      ADD_FAILURE() << "expected an error like Jinja's: " << c["error"];
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(" at line "), std::string::npos) << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Chat, Reference, testing::ValuesIn(indices("cases")),
                         [](const testing::TestParamInfo<size_t>& info) {
                           return test_name(ref()["cases"][info.param]["name"].get<std::string>());
                         });

class SyntaxErrors : public testing::TestWithParam<size_t> {};

TEST_P(SyntaxErrors, RejectedAtParse) {
  const Json& c = ref()["syntax_errors"][GetParam()];
  SCOPED_TRACE(c["error"].get<std::string>());
  try {
    ChatTemplate tmpl(c["template"].get<std::string>());
    ADD_FAILURE() << "parsed a template Jinja rejects: " << c["template"];
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(" at line "), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Chat, SyntaxErrors, testing::ValuesIn(indices("syntax_errors")),
                         [](const testing::TestParamInfo<size_t>& info) {
                           return test_name(ref()["syntax_errors"][info.param]["name"].get<std::string>());
                         });

}  // namespace
}  // namespace tsc
