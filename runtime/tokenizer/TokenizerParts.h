//===- TokenizerParts.h - the stages of a Hugging Face tokenizer ----------===//
//
// A tokenizer.json describes a pipeline; llmc builds one object per stage:
//   added tokens -> Normalizer -> PreTokenizer -> BPEModel -> (ids)
//   (ids) -> Decoder -> bytes
// Each stage is read from its JSON object by a `fromJson` that checks every
// field's type and returns an error (without the file name; the caller adds
// it) for anything malformed or unsupported. Private to the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_TOKENIZER_TOKENIZERPARTS_H
#define LLMC_RUNTIME_TOKENIZER_TOKENIZERPARTS_H

#include "runtime/support/Status.h"
#include "runtime/tokenizer/Regex.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmc::tokenizer {

using Json = nlohmann::json;

/// Reads an optional field: absent or null gives `fallback`, a value of the
/// wrong type gives an error naming `what`.
Result<bool> optionalBool(const Json &object, const char *key, bool fallback,
                          const std::string &what);
Result<std::string> optionalString(const Json &object, const char *key,
                                   const std::string &fallback,
                                   const std::string &what);
/// A `{"String": s}` or `{"Regex": r}` pattern. Literal patterns keep their
/// text for fast replacement; both kinds have a compiled regex for splitting.
struct Pattern {
  std::optional<std::string> literal;
  std::shared_ptr<const Regex> regex;
  std::string replaceAll(std::string_view text, std::string_view with) const;
};
Result<Pattern> readPattern(const Json &object, const std::string &what);

/// The "type" of a pipeline component (normalizer, pre-tokenizer, decoder).
Result<std::string> componentType(const Json &object, const char *what);
/// A "Sequence" component: `add` for each object of its `key` array.
Status forEachInSequence(const Json &object, const char *key,
                         const std::string &what,
                         const std::function<Status(const Json &)> &add);
/// A "Replace" component's pattern and content.
Status readReplace(const Json &object, const std::string &what,
                   Pattern &pattern, std::string &content);

/// A run of text flowing through the pipeline. `atStart` is true when it
/// begins at offset 0 of the user's text (Metaspace's prepend_scheme "first").
struct Piece {
  std::string text;
  bool atStart = false;
};

//===----------------------------------------------------------------------===//
// Normalizer: rewrites a piece of text before it is split.
//===----------------------------------------------------------------------===//

class Normalizer {
public:
  static Result<Normalizer> fromJson(const Json &json);
  std::string apply(std::string text) const;
  bool empty() const { return steps_.empty(); }

private:
  struct Step {
    enum class Kind { Prepend, Replace, Strip } kind;
    std::string text;                 // Prepend: prefix; Replace: content
    Pattern pattern;                  // Replace
    bool left = false, right = false; // Strip
  };
  Status addStep(const Json &json);
  std::vector<Step> steps_;
};

//===----------------------------------------------------------------------===//
// PreTokenizer: splits text into the words BPE sees.
//===----------------------------------------------------------------------===//

/// How a split treats the matches of its pattern (tokenizers'
/// SplitDelimiterBehavior).
enum class SplitBehavior {
  Removed,
  Isolated,
  MergedWithPrevious,
  MergedWithNext,
  Contiguous
};

class PreTokenizer {
public:
  static Result<PreTokenizer> fromJson(const Json &json);
  void apply(std::vector<Piece> &pieces) const;
  /// True when a ByteLevel step maps bytes to GPT-2's alphabet.
  bool isByteLevel() const { return byteLevel_; }

private:
  struct Step {
    enum class Kind { Split, ByteLevel, Metaspace } kind;
    std::shared_ptr<const Regex> regex; // Split; ByteLevel with use_regex
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    bool addPrefixSpace = false; // ByteLevel
    std::string replacement;     // Metaspace
    enum class Prepend { Always, First, Never } prepend = Prepend::Always;
    bool split = true; // Metaspace
  };
  Status addStep(const Json &json);
  void applyStep(const Step &step, std::vector<Piece> &pieces) const;
  std::vector<Step> steps_;
  bool byteLevel_ = false;
};

/// Splits `piece` at the matches of `regex`, as tokenizers' Split does.
void splitPiece(const Piece &piece, const Regex &regex, SplitBehavior behavior,
                bool invert, std::vector<Piece> &out);

//===----------------------------------------------------------------------===//
// BPEModel: words to token ids by ranked merges.
//===----------------------------------------------------------------------===//

class BPEModel {
public:
  static Result<BPEModel> fromJson(const Json &json);

  /// Appends the ids of one pre-tokenized word.
  void encodeWord(std::string_view word, std::vector<int32_t> &out) const;

  int32_t find(const std::string &token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  const std::unordered_map<std::string, int32_t> &vocab() const {
    return vocab_;
  }
  int32_t maxId() const { return maxId_; }
  bool byteFallback() const { return byteFallback_; }

private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t pairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  Status readMerges(const Json &merges);
  void mergeSymbols(std::vector<int32_t> &ids) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byteTokens_{}; // "<0xNN>" ids, -1 where absent
  int32_t unkId_ = -1;
  int32_t maxId_ = -1;
  bool byteFallback_ = false;
  bool ignoreMerges_ = false;
  bool fuseUnk_ = false;
};

//===----------------------------------------------------------------------===//
// Decoder: token texts back to bytes.
//===----------------------------------------------------------------------===//

class Decoder {
public:
  /// `json` may be null: tokens are then joined with spaces, as tokenizers
  /// does.
  static Result<Decoder> fromJson(const Json &json);

  /// The bytes one token contributes (possibly an incomplete UTF-8 sequence).
  std::string tokenBytes(const std::string &tokenText) const;
  /// Up to `leadingStrip()` copies of `stripText()` are removed from the
  /// start of the whole output (Strip after Fuse; Metaspace's prefix space).
  size_t leadingStrip() const { return leadingStrip_; }
  const std::string &stripText() const { return stripText_; }
  /// No decoder: tokens are separated by a space.
  bool joinsWithSpace() const { return joinWithSpace_; }
  bool isByteLevel() const { return byteLevel_; }

private:
  struct Step {
    enum class Kind { Replace, ByteFallback, ByteLevel, StripEach } kind;
    Pattern pattern;  // Replace
    std::string text; // Replace: the content; StripEach: the stripped char
    size_t count = 0; // StripEach: how many at each end
    size_t countEnd = 0;
  };
  Status addStep(const Json &json, bool &fused);
  std::vector<Step> steps_;
  size_t leadingStrip_ = 0;
  std::string stripText_ = " ";
  bool joinWithSpace_ = false;
  bool byteLevel_ = false;
};

} // namespace llmc::tokenizer

#endif // LLMC_RUNTIME_TOKENIZER_TOKENIZERPARTS_H
