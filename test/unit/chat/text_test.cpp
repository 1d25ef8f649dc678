// Python str semantics over UTF-8 (runtime/chat/text.h), held to what CPython 3.11 prints.
#include "runtime/chat/text.h"

#include <gtest/gtest.h>

#include "runtime/chat/op_error.h"
#include "runtime/chat/unicode.h"

#include <cmath>
#include <limits>

namespace tsc::chat {
namespace {

TEST(ChatText, FloatReprMatchesPython) {
  const std::vector<std::pair<double, std::string>> cases = {{0.1, "0.1"},
                                                             {5.0, "5.0"},
                                                             {-0.0, "-0.0"},
                                                             {0.1 + 0.2, "0.30000000000000004"},
                                                             {1e16, "1e+16"},
                                                             {1e15, "1000000000000000.0"},
                                                             {1.5e-5, "1.5e-05"},
                                                             {0.0001, "0.0001"},
                                                             {123456789012345678.0, "1.2345678901234568e+17"},
                                                             {1e-320, "1e-320"},
                                                             {2.5e100, "2.5e+100"},
                                                             {std::numeric_limits<double>::infinity(), "inf"},
                                                             {std::nan(""), "nan"}};
  for (const auto& [x, want] : cases) EXPECT_EQ(py_float_repr(x), want) << x;
}

TEST(ChatText, ReprQuotesAndEscapesLikePython) {
  if (!uni::have_tables()) GTEST_SKIP() << "built without ICU";
  EXPECT_EQ(py_repr("abc"), "'abc'");
  EXPECT_EQ(py_repr("it's"), "\"it's\"");
  EXPECT_EQ(py_repr("both ' \""), "'both \\' \"'");
  EXPECT_EQ(py_repr("\t\n\r\\"), "'\\t\\n\\r\\\\'");
  EXPECT_EQ(py_repr("\x01\x7f"), "'\\x01\\x7f'");
  EXPECT_EQ(py_repr("\u00a0\u00e9\u200b\U0001F600"), "'\\xa0\u00e9\\u200b\U0001F600'");
}

TEST(ChatText, JsonQuoteIsJsonDumpsWithoutAsciiEscaping) {
  EXPECT_EQ(json_quote("é\"\\\n\t\x01/"), "\"é\\\"\\\\\\n\\t\\u0001/\"");
}

TEST(ChatText, SplitFollowsPython) {
  using V = std::vector<std::string>;
  EXPECT_EQ(py_split("  a  b ", std::nullopt, -1, false), (V{"a", "b"}));
  EXPECT_EQ(py_split(" a b  c ", std::nullopt, 1, false), (V{"a", "b  c "}));
  EXPECT_EQ(py_split(" a b  c ", std::nullopt, 1, true), (V{" a b", "c"}));
  EXPECT_EQ(py_split("a,,b", std::string(","), -1, false), (V{"a", "", "b"}));
  EXPECT_EQ(py_split("a.b.c", std::string("."), 1, true), (V{"a.b", "c"}));
  EXPECT_EQ(py_split("", std::string(","), -1, false), (V{""}));
  EXPECT_EQ(py_split("\u3000x\u00a0y", std::nullopt, -1, false), (V{"x", "y"}));
}

TEST(ChatText, AsciiOnlyBuildRefusesOtherLetters) {
  if (uni::have_tables()) GTEST_SKIP() << "built with ICU";
  EXPECT_EQ(py_upper("abc"), "ABC");
  EXPECT_THROW(py_upper("é"), Unsupported);
  EXPECT_THROW(py_repr("é"), Unsupported);
}

TEST(ChatText, StripReplaceFindCountInCodePoints) {
  EXPECT_EQ(py_strip("\u00a0 x \u3000", std::nullopt, true, true), "x");
  EXPECT_EQ(py_strip("éaé", std::string("é"), true, true), "a");
  EXPECT_EQ(py_replace("abc", "", "-", -1), "-a-b-c-");
  EXPECT_EQ(py_replace("aaa", "a", "b", 2), "bba");
  EXPECT_EQ(py_find("héllo", "l", false), 2);
  EXPECT_EQ(py_find("héllo", "l", true), 3);
  EXPECT_EQ(py_count("banana", "an"), 2);
  EXPECT_EQ(utf8_length("héllo🌍"), 6);
}

TEST(ChatText, CaseMappingsAreFullUnicode) {
  if (!uni::have_tables()) GTEST_SKIP() << "built without ICU";
  EXPECT_EQ(py_upper("straße"), "STRASSE");
  EXPECT_EQ(py_lower("ÀB"), "àb");
  EXPECT_EQ(py_title("hello wORLD o'neil"), "Hello World O'Neil");
  EXPECT_EQ(py_capitalize("hELLO wORLD"), "Hello world");
  EXPECT_EQ(jinja_title("hello world-foo(bar o'neil"), "Hello World-Foo(Bar O'neil");
}

}  // namespace
}  // namespace tsc::chat
