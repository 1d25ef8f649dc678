// Regex: literal search, the built-in scanners, or (ICU builds) ICU's engine with Oniguruma's \s and \S.
#include "runtime/tokenizer/regex.h"

#include <functional>
#include <mutex>

#include "contract/error.h"
#include "runtime/tokenizer/scanners.h"
#include "runtime/tokenizer/unicode.h"

#ifndef TSC_TOKENIZER_ICU
#error "TSC_TOKENIZER_ICU must be 0 or 1 (runtime/tokenizer/CMakeLists.txt sets it from TSC_WITH_ICU)"
#endif
#if TSC_TOKENIZER_ICU
#include <unicode/regex.h>
#include <unicode/utext.h>
#endif

namespace tsc::tok {

struct Regex::Impl {
  enum class Kind { Literal, Gpt2, Words, Icu } kind = Kind::Literal;
  std::string literal;  // Kind::Literal
#if TSC_TOKENIZER_ICU
  std::unique_ptr<icu::RegexPattern> compiled;  // Kind::Icu
  mutable std::mutex mu;                        // guards `pool`
  mutable std::vector<std::unique_ptr<icu::RegexMatcher>> pool;
#endif

  // Calls fn(begin, end) for every match, in order.
  template <class Fn>
  void for_each_match(std::string_view text, Fn fn) const;
#if TSC_TOKENIZER_ICU
  void for_each_icu_match(std::string_view text, const std::function<void(size_t, size_t)>& fn) const;
#endif
};

namespace {

// Oniguruma's \s is the White_Space property (it includes \x0B and \x85); ICU's \s lacks those two.
[[maybe_unused]] std::string translate(std::string_view p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      char c = p[++i];
      if (c == 's')
        out += "\\p{White_Space}";
      else if (c == 'S')
        out += "\\P{White_Space}";
      else
        (out += '\\') += c;
    } else {
      out += p[i];
    }
  }
  return out;
}

// A non-empty pattern with none of Oniguruma's metacharacters matches exactly its own text.
bool is_plain_text(std::string_view p) {
  return !p.empty() && p.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos;
}

}  // namespace

#if TSC_TOKENIZER_ICU
void Regex::Impl::for_each_icu_match(std::string_view text, const std::function<void(size_t, size_t)>& fn) const {
  std::unique_ptr<icu::RegexMatcher> m;
  UErrorCode st = U_ZERO_ERROR;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!pool.empty()) {
      m = std::move(pool.back());
      pool.pop_back();
    }
  }
  if (!m) m.reset(compiled->matcher(st));
  UText ut = UTEXT_INITIALIZER;
  utext_openUTF8(&ut, text.data(), static_cast<int64_t>(text.size()), &st);
  if (U_FAILURE(st)) throw Error(std::string("regex matcher setup failed: ") + u_errorName(st));
  m->reset(&ut);
  // UTF-8 UText indices are native byte offsets.
  while (m->find(st) && U_SUCCESS(st)) fn(static_cast<size_t>(m->start64(st)), static_cast<size_t>(m->end64(st)));
  utext_close(&ut);
  if (U_FAILURE(st)) throw Error(std::string("regex match failed: ") + u_errorName(st));
  std::lock_guard<std::mutex> lock(mu);
  pool.push_back(std::move(m));
}
#endif

template <class Fn>
void Regex::Impl::for_each_match(std::string_view text, Fn fn) const {
  switch (kind) {
    case Kind::Literal:
      if (literal.empty()) return;
      for (size_t pos = text.find(literal); pos != std::string_view::npos; pos = text.find(literal, pos + literal.size()))
        fn(pos, pos + literal.size());
      return;
    case Kind::Gpt2:
      scan_gpt2(text, fn);
      return;
    case Kind::Words:
      scan_words(text, fn);
      return;
    case Kind::Icu:
#if TSC_TOKENIZER_ICU
      for_each_icu_match(text, fn);
#endif
      return;
  }
}

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Regex Regex::pattern(std::string_view onig_pattern) {
  auto impl = std::make_unique<Impl>();
  if (onig_pattern == kGpt2Pattern) {
    impl->kind = Impl::Kind::Gpt2;
  } else if (onig_pattern == kWordsPattern) {
    impl->kind = Impl::Kind::Words;
  } else if (is_plain_text(onig_pattern)) {
    impl->literal = std::string(onig_pattern);
  } else {
    return icu_pattern(onig_pattern);
  }
  return Regex(std::move(impl));
}

Regex Regex::icu_pattern(std::string_view onig_pattern) {
#if TSC_TOKENIZER_ICU
  auto impl = std::make_unique<Impl>();
  impl->kind = Impl::Kind::Icu;
  std::string p = translate(onig_pattern);
  UErrorCode st = U_ZERO_ERROR;
  UParseError pe{};
  UText ut = UTEXT_INITIALIZER;
  utext_openUTF8(&ut, p.data(), static_cast<int64_t>(p.size()), &st);
  impl->compiled.reset(icu::RegexPattern::compile(&ut, 0, pe, st));
  utext_close(&ut);
  if (U_FAILURE(st) || !impl->compiled)
    throw Error("tokenizer.json: cannot compile regex '" + std::string(onig_pattern) + "' (" + u_errorName(st) +
                    " at offset " + std::to_string(pe.offset) + ")",
                "the pattern must be valid Oniguruma syntax, as the HF tokenizers library requires");
  return Regex(std::move(impl));
#else
  throw needs_icu("tokenizer.json: regex '" + std::string(onig_pattern) + "'");
#endif
}

Regex Regex::literal(std::string_view text) {
  auto impl = std::make_unique<Impl>();
  impl->literal = std::string(text);
  return Regex(std::move(impl));
}

const char* Regex::engine() const {
  switch (impl_->kind) {
    case Impl::Kind::Literal: return "literal";
    case Impl::Kind::Gpt2: return "gpt2-scanner";
    case Impl::Kind::Words: return "words-scanner";
    case Impl::Kind::Icu: return "icu";
  }
  return "?";
}

std::vector<Span> Regex::find_matches(std::string_view text) const {
  if (text.empty()) return {{0, 0, false}};
  std::vector<Span> out;
  size_t prev = 0;
  impl_->for_each_match(text, [&](size_t b, size_t e) {
    if (prev != b) out.push_back({prev, b, false});
    out.push_back({b, e, true});
    prev = e;
  });
  if (prev != text.size()) out.push_back({prev, text.size(), false});
  return out;
}

std::string Regex::replace_all(std::string_view text, std::string_view content) const {
  std::string out;
  size_t prev = 0;
  impl_->for_each_match(text, [&](size_t b, size_t e) {
    out.append(text.substr(prev, b - prev));
    out.append(content);
    prev = e;
  });
  out.append(text.substr(prev));
  return out;
}

}  // namespace tsc::tok
