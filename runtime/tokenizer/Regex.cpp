//===- Regex.cpp - PCRE2 patterns for pre-tokenizers and normalizers ------===//

#include "runtime/tokenizer/Regex.h"

#include "runtime/tokenizer/Unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace llmc {

namespace {
pcre2_code *asCode(void *code) { return static_cast<pcre2_code *>(code); }

/// Frees match data on every path.
struct MatchData {
  explicit MatchData(const pcre2_code *code)
      : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
  pcre2_match_data *data;
};
} // namespace

Result<std::shared_ptr<const Regex>>
Regex::compile(const std::string &pattern) {
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  pcre2_code *code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                                   pattern.size(), PCRE2_UTF | PCRE2_UCP,
                                   &errorCode, &errorOffset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(errorCode, message, sizeof(message));
    return Status::error("invalid regex '" + pattern + "' at offset " +
                         std::to_string(errorOffset) + ": " +
                         reinterpret_cast<const char *>(message));
  }
  // JIT is an optimization only: when unavailable the interpreter runs.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::shared_ptr<Regex> regex(new Regex());
  regex->code_ = code;
  regex->pattern_ = pattern;
  return std::shared_ptr<const Regex>(std::move(regex));
}

std::string Regex::quote(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-/#").find(c) !=
        std::string_view::npos)
      out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Regex::~Regex() { pcre2_code_free(asCode(code_)); }

void Regex::forEachMatch(
    std::string_view text,
    const std::function<void(size_t, size_t)> &onMatch) const {
  // PCRE2 checks UTF-8 on every call unless told not to, which would make a
  // long text quadratic: check it once here instead.
  if (!unicode::isValidUtf8(text))
    return;
  MatchData match(asCode(code_));
  if (!match.data)
    return;
  const auto *subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start < text.size()) {
    uint32_t options = PCRE2_NO_UTF_CHECK;
    int rc = pcre2_match(asCode(code_), subject, text.size(), start, options,
                         match.data, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
      rc = pcre2_match(asCode(code_), subject, text.size(), start,
                       options | PCRE2_NO_JIT, match.data, nullptr);
    if (rc < 0)
      return; // no match, or a resource limit: the rest stays unmatched
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(match.data);
    size_t begin = ovector[0], end = ovector[1];
    if (end <= begin) {
      // An empty match: step over one character and search again.
      if (begin >= text.size())
        return;
      start = begin + unicode::decodeChar(text, begin).length;
      continue;
    }
    onMatch(begin, end);
    start = end;
  }
}

} // namespace llmc
