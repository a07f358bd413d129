//===- Regex.h - PCRE2 patterns for pre-tokenizers and normalizers --------===//
//
// tokenizer.json patterns are Oniguruma/Rust regexes with Unicode classes
// (\p{L}, \p{N}, \s); PCRE2 in UTF + UCP mode reads them with the same
// meaning. Compiled once, matched from any thread.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_TOKENIZER_REGEX_H
#define LLMC_RUNTIME_TOKENIZER_REGEX_H

#include "runtime/support/Status.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace llmc {

class Regex {
public:
  /// Compiles `pattern`; an error names the problem and its offset.
  static Result<std::shared_ptr<const Regex>>
  compile(const std::string &pattern);
  /// Escapes `literal` so that it matches itself.
  static std::string quote(std::string_view literal);
  ~Regex();
  Regex(const Regex &) = delete;
  Regex &operator=(const Regex &) = delete;

  /// Calls `onMatch(begin, end)` for each non-overlapping, non-empty match,
  /// left to right. `text` must be valid UTF-8; if matching gives up (PCRE2's
  /// resource limits) the rest of the text is treated as unmatched.
  void forEachMatch(std::string_view text,
                    const std::function<void(size_t, size_t)> &onMatch) const;

  const std::string &pattern() const { return pattern_; }

private:
  Regex() = default;
  void *code_ = nullptr; // pcre2_code_8, kept opaque so pcre2.h stays private
  std::string pattern_;
};

} // namespace llmc

#endif // LLMC_RUNTIME_TOKENIZER_REGEX_H
