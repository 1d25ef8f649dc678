// The API's request parsing (runtime/server/openai_request): every field's type and range, and the
// field each error names.
#include <gtest/gtest.h>

#include "runtime/server/openai_request.h"

namespace tsc {
namespace {

using nlohmann::json;

ApiError error_of(const std::string& body, bool chat = false) {
  try {
    parse_api_request(json::parse(body), chat, ApiLimits{8, 16});
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return {};
}

TEST(ApiRequest, CompletionFields) {
  ApiRequest r = parse_api_request(json::parse(R"({"model": "m", "prompt": "hi", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9,
      "top_k": -1, "min_p": 0.1, "seed": -3, "stop": "x", "n": 2, "stream": true, "stream_options": {"include_usage": true},
      "logprobs": 3, "echo": true, "presence_penalty": 1, "frequency_penalty": -1, "tsc": {"top_k_pages": 4}, "user": "u"})"),
                                   false, ApiLimits{8, 16});
  EXPECT_EQ(*r.model, "m");
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_EQ(*r.prompts[0].text, "hi");
  EXPECT_EQ(*r.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(*r.sampling.seed, static_cast<uint64_t>(-3));
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(r.n, 2);
  EXPECT_TRUE(r.stream && r.include_usage && r.echo);
  EXPECT_TRUE(r.sampling.logprobs);
  EXPECT_EQ(r.sampling.top_logprobs, 3);
  EXPECT_EQ(r.budget, 4);
  EXPECT_EQ(r.select_every, -1);  // the build's
  EXPECT_EQ(parse_api_request(json::parse(R"({"prompt": "x", "tsc": {"select_every": 4}})"), false, ApiLimits{}).select_every, 4);
}

TEST(ApiRequest, PromptForms) {
  auto prompts = [](const char* p) { return parse_api_request(json::parse(std::string(R"({"prompt": )") + p + "}"), false, ApiLimits{}).prompts; };
  EXPECT_EQ(prompts(R"([1, 2, 3])").at(0).ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(prompts(R"(["a", "b"])").size(), 2u);
  EXPECT_EQ(prompts(R"([[1], [2, 3]])").at(1).ids, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(error_of(R"({"prompt": [1, "a"]})").param, "prompt");
  EXPECT_EQ(error_of(R"({"prompt": [-1]})").param, "prompt");
  EXPECT_EQ(error_of(R"({"prompt": 5})").param, "prompt");
  EXPECT_EQ(error_of(R"({})").param, "prompt");
}

TEST(ApiRequest, ErrorsNameTheField) {
  EXPECT_EQ(error_of(R"({"prompt": "x", "temperature": "hot"})").param, "temperature");
  EXPECT_EQ(error_of(R"({"prompt": "x", "temperature": -1})").param, "temperature");
  EXPECT_EQ(error_of(R"({"prompt": "x", "max_tokens": 0})").param, "max_tokens");
  EXPECT_EQ(error_of(R"({"prompt": "x", "max_tokens": 1.5})").param, "max_tokens");
  EXPECT_EQ(error_of(R"({"prompt": "x", "n": 9})").param, "n");
  EXPECT_EQ(error_of(R"({"prompt": "x", "top_p": 0})").param, "top_p");
  EXPECT_EQ(error_of(R"({"prompt": "x", "logprobs": true})").param, "logprobs");
  EXPECT_EQ(error_of(R"({"prompt": "x", "stop": ["a", ""]})").param, "stop");
  EXPECT_EQ(error_of(R"({"prompt": "x", "stream": 1})").param, "stream");
  EXPECT_EQ(error_of(R"({"prompt": "x", "stream_options": {"include_usage": true}})").param, "stream_options");
  EXPECT_EQ(error_of(R"({"prompt": "x", "mystery": 1})").param, "mystery");
  EXPECT_EQ(error_of(R"({"prompt": "x", "logit_bias": {"5": 1}})").param, "logit_bias");
  EXPECT_EQ(error_of(R"({"prompt": "x", "tsc": {"top_k_pages": 17}})").param, "top_k_pages");
  EXPECT_EQ(error_of(R"({"prompt": "x", "tsc": {"dense": true, "top_k_pages": 4}})").param, "tsc");
  EXPECT_EQ(error_of(R"({"prompt": "x", "tsc": {"select_every": 0}})").param, "select_every");
  EXPECT_EQ(error_of(R"({"prompt": "x", "tsc": {"select_every": 65}})").param, "select_every");
  EXPECT_EQ(error_of(R"({"prompt": "x", "tsc": {"select_every": "4"}})").param, "select_every");
  EXPECT_EQ(error_of(R"({"prompt": "x", "seed": 18446744073709551615})").param, "seed");
  EXPECT_EQ(error_of(R"([1])").status, 400);
  // max_tokens 0 only with echo (scoring the prompt).
  EXPECT_EQ(*parse_api_request(json::parse(R"({"prompt": "x", "max_tokens": 0, "echo": true})"), false, ApiLimits{}).max_tokens, 0);
}

TEST(ApiRequest, ChatFields) {
  ApiRequest r = parse_api_request(json::parse(R"({"messages": [{"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
      "max_completion_tokens": 5, "logprobs": true, "top_logprobs": 2, "tools": []})"),
                                   true, ApiLimits{});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].content, "a\nb");
  EXPECT_EQ(*r.max_tokens, 5);
  EXPECT_EQ(r.sampling.top_logprobs, 2);
  EXPECT_EQ(error_of(R"({"messages": []})", true).param, "messages");
  EXPECT_EQ(error_of(R"({"messages": [{"content": "x"}]})", true).param, "messages[0].role");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", true).param, "messages[0].content");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", true).param, "top_logprobs");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})", true).param, "tools");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "echo": true})", true).param, "echo");
  EXPECT_EQ(error_of(R"({"prompt": "x"})", true).param, "prompt");
}

}  // namespace
}  // namespace tsc
