// ICU-backed Regex: translates Oniguruma's \s and \S, matches over UTF-8 through UText.
#include "runtime/tokenizer/regex.h"

#include <unicode/regex.h>
#include <unicode/utext.h>

#include <mutex>

#include "runtime/core/error.h"

namespace tsc::tok {

struct Regex::Impl {
  std::string literal;                         // used when `compiled` is null
  std::unique_ptr<icu::RegexPattern> compiled;
  mutable std::mutex mu;                       // guards `pool`
  mutable std::vector<std::unique_ptr<icu::RegexMatcher>> pool;

  // Calls fn(begin, end) for every match, in order.
  template <class Fn>
  void for_each_match(std::string_view text, Fn fn) const;
};

namespace {

// Oniguruma's \s is the White_Space property (it includes \x0B and \x85); ICU's \s lacks those two.
std::string translate(std::string_view p) {
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

}  // namespace

template <class Fn>
void Regex::Impl::for_each_match(std::string_view text, Fn fn) const {
  if (!compiled) {
    if (literal.empty()) return;
    for (size_t pos = text.find(literal); pos != std::string_view::npos; pos = text.find(literal, pos + literal.size()))
      fn(pos, pos + literal.size());
    return;
  }
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

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Regex Regex::pattern(std::string_view onig_pattern) {
  auto impl = std::make_unique<Impl>();
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
}

Regex Regex::literal(std::string_view text) {
  auto impl = std::make_unique<Impl>();
  impl->literal = std::string(text);
  return Regex(std::move(impl));
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
