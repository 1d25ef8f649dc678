// Chat-template errors (constructs outside the subset, positions, raise_exception) and API behaviour.
#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "runtime/chat/chat_template.h"
#include "contract/error.h"

namespace tsc {
namespace {

// The error a template gives, at construction or else at rendering with `vars`.
std::string error_of(const std::string& source, const nlohmann::json& vars = nlohmann::json::object()) {
  try {
    ChatTemplate(source).render_json(vars);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string parse_error_of(const std::string& source) {
  try {
    ChatTemplate t(source);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST(ChatUnsupported, TagsAreRejectedAtParseWithPosition) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{% include 'x.jinja' %}", "include"},
      {"a\n  {% extends 'base' %}", "extends"},
      {"{% block b %}{% endblock %}", "block"},
      {"{% import 'm' as m %}", "import"},
      {"{% from 'm' import x %}", "from"},
      {"{% macro m() %}{% endmacro %}{% call m() %}{% endcall %}", "call"},
      {"{% autoescape true %}{% endautoescape %}", "autoescape"},
      {"{% for x in xs recursive %}{% endfor %}", "recursive"},
      {"{{ f(*args) }}", "*args"},
  };
  for (const auto& [source, construct] : cases) {
    std::string e = parse_error_of(source);
    EXPECT_HAS(e, construct);
    EXPECT_HAS(e, " at line ");
  }
  EXPECT_HAS(parse_error_of("a\n  {% extends 'base' %}"), "line 2, column 6");
}

TEST(ChatUnsupported, FiltersOutsideTheSubsetFailAtParseWhenAlwaysUsed) {
  for (const char* f : {"indent", "dictsort", "format", "unique", "max", "wordwrap"}) {
    std::string e = parse_error_of(std::string("{{ x | ") + f + " }}");
    EXPECT_HAS(e, std::string("unsupported filter '") + f + "'");
    EXPECT_HAS(e, "line 1, column 8");
  }
  EXPECT_HAS(parse_error_of("{{ x | frobnicate }}"), "no filter named 'frobnicate'");
  EXPECT_HAS(parse_error_of("{{ x is escaped }}"), "unsupported test 'escaped'");
  EXPECT_HAS(parse_error_of("{% for m in xs %}{{ m | indent }}{% endfor %}"), "unsupported filter 'indent'");
}

TEST(ChatUnsupported, FiltersInsideIfFailOnlyWhenReached) {
  // As in Jinja: inside an if (or x if y else z) an unknown filter is an error only if rendering reaches it,
  // so a template whose tool branch uses one still serves plain chats.
  ChatTemplate t("{% if tools %}{{ tools | indent(2) }}{% else %}plain{% endif %}");
  EXPECT_EQ(t.render({}, false, "", ""), "plain");
  std::string e = error_of(t.source(), {{"tools", {1}}});
  EXPECT_HAS(e, "unsupported filter 'indent'");
  EXPECT_HAS(e, "line 1, column 26");
}

TEST(ChatUnsupported, MethodsAndFunctionsFailWhenCalled) {
  EXPECT_HAS(error_of("{{ '{}'.format(1) }}"), "unsupported string method 'format'");
  EXPECT_HAS(error_of("{{ cycler(1, 2) }}"), "unsupported global function 'cycler()'");
  EXPECT_HAS(error_of("{{ '%s' % 1 }}"), "printf-style string formatting");
  EXPECT_HAS(error_of("{{ {1: 'a'} }}"), "dict keys other than strings");
  EXPECT_HAS(error_of("{{ (-8) ** 0.5 }}"), "complex number");
  EXPECT_HAS(parse_error_of("{{ '\\N{BULLET}' }}"), "\\N{...}");
}

TEST(ChatSyntax, ErrorsNameLineAndColumn) {
  EXPECT_HAS(parse_error_of("{{ x }}\n  {% if %}{% endif %}"), "line 2, column 9");
  EXPECT_HAS(parse_error_of("{% for x in xs %}\n{% endif %}"), "'endif'");
  EXPECT_HAS(parse_error_of("{% if x %}\nno end"), "unexpected end of template");
  EXPECT_HAS(parse_error_of("{{ 'abc }}"), "unterminated string literal");
  EXPECT_HAS(parse_error_of("{% break %}"), "'break' outside loop");
  EXPECT_HAS(parse_error_of("{# open"), "missing end of comment tag");
}

TEST(ChatRender, RaiseExceptionMessageIsTheTemplates) {
  ChatTemplate t(
      "{% if messages[0].role != 'user' %}{{ raise_exception('Roles must start with user, got ' + "
      "messages[0].role) }}{% endif %}ok");
  EXPECT_EQ(t.render({{"user", "hi"}}, false, "", ""), "ok");
  try {
    t.render({{"assistant", "hi"}}, false, "", "");
    FAIL() << "expected raise_exception";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Roles must start with user, got assistant");
    EXPECT_HAS(e.hint(), "raise_exception");
  }
}

TEST(ChatRender, RuntimeErrorsNameThePosition) {
  std::string e = error_of("line one\n{{ messages[0].content.upper() }}", {{"messages", nlohmann::json::array()}});
  EXPECT_HAS(e, "list object has no element 0");
  EXPECT_HAS(e, "line 2");
}

TEST(ChatRender, PassesTransformersVariables) {
  // transformers passes tools=None and documents=None: defined, and none.
  ChatTemplate t(
      "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is defined }}{{ tools is none }}"
      "{{ documents is none }}|{{ messages | length }}|{% for m in messages %}{{ m.role }}:{{ m.content }};"
      "{% endfor %}|{{ messages[0] | tojson }}");
  EXPECT_EQ(t.render({{"system", "S"}, {"user", "é\n"}}, true, "<s>", "</s>"),
            "<s>|</s>|True|TrueTrueTrue|2|system:S;user:é\n;|{\"role\": \"system\", \"content\": \"S\"}");
}

TEST(ChatRender, OrderedJsonKeepsKeyOrder) {
  ChatTemplate t("{{ tool | tojson }}|{% for k in tool %}{{ k }}{% endfor %}");
  auto ordered = nlohmann::ordered_json::parse(R"({"tool": {"name": "f", "description": "d", "a": 1}})");
  EXPECT_EQ(t.render_json(ordered), "{\"name\": \"f\", \"description\": \"d\", \"a\": 1}|namedescriptiona");
  auto sorted = nlohmann::json::parse(R"({"tool": {"name": "f", "description": "d", "a": 1}})");
  EXPECT_EQ(t.render_json(sorted), "{\"a\": 1, \"description\": \"d\", \"name\": \"f\"}|adescriptionname");
}

TEST(ChatRender, RejectsNonObjectVariables) {
  ChatTemplate t("x");
  EXPECT_THROW(t.render_json(nlohmann::json::array()), Error);
  EXPECT_THROW(t.render_json(nlohmann::json("s")), Error);
}

TEST(ChatRender, StrftimeNowFormatsTheLocalTime) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char year[8];
  std::strftime(year, sizeof year, "%Y", &tm);
  std::string got = ChatTemplate("{{ strftime_now('%Y') }}").render({}, false, "", "");
  EXPECT_EQ(got.size(), 4u);
  EXPECT_EQ(got.substr(0, 3), std::string(year).substr(0, 3));  // tolerant of a year boundary mid-test
}

TEST(ChatRender, LimitsRunawayTemplates) {
  EXPECT_HAS(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), "nested too deeply");
  EXPECT_HAS(error_of("{{ 'x' * 10000000000 }}"), "too large");
  EXPECT_HAS(error_of("{{ 2 ** 64 }}"), "integer overflow");
  EXPECT_HAS(error_of("{{ range(1000000) | length }}"), "range too big");
}

TEST(ChatRender, ConcurrentRendersAgree) {
  const ChatTemplate t(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m.content | length %}"
      "<|{{ m.role }}|>{{ m.content | trim }}{% endfor %}{{ ns.n }}{% if add_generation_prompt %}<|a|>{% endif "
      "%}");
  std::vector<ChatMessage> msgs;
  for (int i = 0; i < 50; ++i) msgs.push_back({i % 2 ? "assistant" : "user", " message " + std::to_string(i)});
  const std::string want = t.render(msgs, true, "", "");
  std::vector<std::string> got(8);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < got.size(); ++k)
    threads.emplace_back([&, k] {
      ChatTemplate copy = t;  // copies share the parsed template
      for (int r = 0; r < 20; ++r) got[k] = copy.render(msgs, true, "", "");
    });
  for (auto& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
}  // namespace tsc
