//===- Tokenizer.h - text to token ids and back, from tokenizer.json ------===//
//
// llmc's runtime reads Hugging Face `tokenizers` files (tokenizer.json, plus
// tokenizer_config.json for BOS/EOS and the chat template) and nothing else;
// a GGUF model's tokenizer metadata is converted into those two files first
// (tokenizerJsonFromGGUF), and a compiled artifact ships the result.
//
// Two families are supported, both BPE models:
//  - SentencePiece-style BPE with byte fallback (Llama 2, Mistral):
//    "▁" for spaces, merges by rank, "<0xNN>" tokens for other bytes;
//  - byte-level BPE (GPT-2, Llama 3, Qwen2): the ByteLevel pre-tokenizer and
//    Split pre-tokenizers whose regexes run with PCRE2.
//
// Ill-formed UTF-8 input is repaired before tokenizing: each maximal
// ill-formed subpart becomes U+FFFD, as Python's errors="replace" and Rust's
// from_utf8_lossy do (so as Hugging Face sees such text), and as node does
// before handing text to llama.cpp. Decoding repairs its output the same way.
//
// A Tokenizer is immutable after loading: encode and decode may run on many
// threads at once. A StreamingDecoder belongs to one thread.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_TOKENIZER_TOKENIZER_H
#define LLMC_RUNTIME_TOKENIZER_TOKENIZER_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmc {

class GGUFFile;

class Tokenizer {
public:
  /// Builds a tokenizer from tokenizer.json text and optional
  /// tokenizer_config.json text ("" if none); `name` prefixes every error.
  static Result<std::unique_ptr<Tokenizer>>
  fromJson(const std::string &tokenizerJson,
           const std::string &tokenizerConfigJson, const std::string &name);
  /// Reads the files; `tokenizerConfigPath` may be "".
  static Result<std::unique_ptr<Tokenizer>>
  fromFiles(const std::string &tokenizerJsonPath,
            const std::string &tokenizerConfigPath);
  ~Tokenizer();
  Tokenizer(const Tokenizer &) = delete;
  Tokenizer &operator=(const Tokenizer &) = delete;

  /// Token ids of `text`. `addBos` adds the tokens the model puts around a
  /// sequence (its post-processor template, else the BOS token).
  /// `parseSpecial` lets special tokens written in the text (e.g. "<s>",
  /// "<|eot_id|>") become their ids; added tokens that are not special are
  /// always recognized, as in tokenizers and llama.cpp.
  std::vector<int32_t> encode(std::string_view text, bool addBos,
                              bool parseSpecial) const;
  /// Text of `ids`; unknown ids are skipped, ill-formed UTF-8 becomes U+FFFD.
  std::string decode(const std::vector<int32_t> &ids,
                     bool skipSpecial = false) const;

  /// One more than the largest id.
  int32_t vocabSize() const;
  int32_t bosId() const; // -1 if none
  int32_t eosId() const; // -1 if none
  /// Whether the model expects a BOS (tokenizer_config.json's add_bos_token,
  /// else whether its post-processor adds one).
  bool addBosByDefault() const;
  /// EOS and the end-of-turn specials of chat models (<|eot_id|>,
  /// <|im_end|>, <|end_of_text|>, <|endoftext|>, <|end|>, <end_of_turn>, ...).
  bool isEndOfGeneration(int32_t id) const;
  bool isSpecial(int32_t id) const;
  /// tokenizer_config.json's chat_template, "" if none.
  const std::string &chatTemplate() const;
  std::string bosToken() const;
  std::string eosToken() const;
  /// "sentencepiece-bpe" or "byte-level-bpe".
  const char *kindName() const;
  /// The token's text in the vocabulary (e.g. "▁the", "Ġthe"), "" if none.
  std::string tokenText(int32_t id) const;
  /// The bytes one token contributes to decoded text, before UTF-8 repair
  /// and before the leading-space strip of SentencePiece-style decoders.
  std::string tokenBytes(int32_t id) const;

  struct Impl;

private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<Tokenizer>>
  load(const std::string &tokenizerJson, const std::string &configJson,
       const std::string &name, const std::string &configName);
  std::unique_ptr<Impl> impl_;
  friend class StreamingDecoder;
};

/// Streaming detokenization: push ids one at a time and get back only whole
/// UTF-8 characters; a partial multi-byte sequence is held until it
/// completes. flush() returns the rest, ill-formed bytes as U+FFFD. The
/// concatenation of all outputs equals Tokenizer::decode of the same ids.
class StreamingDecoder {
public:
  explicit StreamingDecoder(const Tokenizer &tokenizer,
                            bool skipSpecial = false);
  std::string push(int32_t id);
  std::string flush();

private:
  std::string take(bool all);
  const Tokenizer &tokenizer_;
  bool skipSpecial_;
  bool firstToken_ = true;
  size_t stripLeft_; // leading strip still to apply
  std::string pending_;
};

/// Converts GGUF tokenizer metadata ("tokenizer.ggml.*",
/// "tokenizer.chat_template") into equivalent tokenizer.json and
/// tokenizer_config.json texts. `tokenizer.ggml.model` "llama" becomes
/// SentencePiece-style BPE whose merges reproduce SentencePiece's score-ordered
/// merging; "gpt2" becomes byte-level BPE with the pre-tokenizer regexes that
/// `tokenizer.ggml.pre` names.
Result<std::pair<std::string, std::string>>
tokenizerJsonFromGGUF(const GGUFFile &gguf);

/// The `tokenizer.ggml.pre` names tokenizerJsonFromGGUF knows, for messages.
const char *knownGGUFPreTokenizers();

} // namespace llmc

#endif // LLMC_RUNTIME_TOKENIZER_TOKENIZER_H
