//===- TokenizerGGUFTest.cpp - GGUF tokenizer metadata to tokenizer.json --===//
//
// Small GGUF files (metadata only) written in memory, converted with
// tokenizerJsonFromGGUF and loaded as tokenizers.
//
//===----------------------------------------------------------------------===//

#include "runtime/formats/GGUF.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "test/unit/ByteLevelChar.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

using llmc::GGUFFile;
using llmc::Tokenizer;

namespace {

const std::string kSpace = "\xE2\x96\x81"; // "▁"

/// Writes GGUF v3 metadata (no tensors) into memory.
class GGUFBuilder {
public:
  GGUFBuilder &string(const std::string &key, const std::string &value) {
    header(key, 8);
    str(value);
    return *this;
  }
  GGUFBuilder &u32(const std::string &key, uint32_t value) {
    header(key, 4);
    raw(value);
    return *this;
  }
  GGUFBuilder &boolean(const std::string &key, bool value) {
    header(key, 7);
    kv_.push_back(value ? 1 : 0);
    return *this;
  }
  GGUFBuilder &strings(const std::string &key,
                       const std::vector<std::string> &values) {
    arrayHeader(key, 8, values.size());
    for (const std::string &v : values)
      str(v);
    return *this;
  }
  GGUFBuilder &floats(const std::string &key,
                      const std::vector<float> &values) {
    arrayHeader(key, 6, values.size());
    for (float v : values)
      raw(v);
    return *this;
  }
  GGUFBuilder &ints(const std::string &key,
                    const std::vector<int32_t> &values) {
    arrayHeader(key, 5, values.size());
    for (int32_t v : values)
      raw(v);
    return *this;
  }

  /// The parsed file; the builder must outlive it (the bytes are not copied).
  std::unique_ptr<GGUFFile> build() {
    bytes_ = "GGUF";
    append(bytes_, uint32_t(3));
    append(bytes_, uint64_t(0));
    append(bytes_, count_);
    bytes_ += kv_;
    bytes_.resize((bytes_.size() + 31) / 32 * 32, '\0');
    auto file = llmc::MappedFile::fromMemory(
        "test.gguf", reinterpret_cast<const uint8_t *>(bytes_.data()),
        bytes_.size());
    auto gguf = GGUFFile::parse(file);
    EXPECT_TRUE(gguf.ok()) << gguf.message();
    return gguf.ok() ? gguf.take() : nullptr;
  }

private:
  template <typename T> static void append(std::string &out, T value) {
    char buffer[sizeof(T)];
    std::memcpy(buffer, &value, sizeof(T));
    out.append(buffer, sizeof(T));
  }
  template <typename T> void raw(T value) { append(kv_, value); }
  void str(const std::string &s) {
    raw(uint64_t(s.size()));
    kv_ += s;
  }
  void header(const std::string &key, uint32_t type) {
    str(key);
    raw(type);
    ++count_;
  }
  void arrayHeader(const std::string &key, uint32_t elementType, size_t count) {
    header(key, 9);
    raw(elementType);
    raw(uint64_t(count));
  }
  std::string kv_, bytes_;
  uint64_t count_ = 0;
};

std::string byteToken(int byte) {
  char buffer[8];
  std::snprintf(buffer, sizeof(buffer), "<0x%02X>", byte);
  return buffer;
}

/// A SentencePiece ("llama") vocabulary: <unk> <s> </s>, 256 byte tokens,
/// then pieces whose scores disagree with their ids on purpose.
struct LlamaVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  void add(const std::string &token, float score, int32_t type) {
    tokens.push_back(token);
    scores.push_back(score);
    types.push_back(type);
  }
  int32_t id(const std::string &token) const {
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == token)
        return static_cast<int32_t>(i);
    ADD_FAILURE() << "no token " << token;
    return -1;
  }
  LlamaVocab() {
    add("<unk>", 0, 2);
    add("<s>", 0, 3);
    add("</s>", 0, 3);
    for (int b = 0; b < 256; ++b)
      add(byteToken(b), 0, 6);
    float score = -1;
    for (const char *piece : {"a", "b", "c", "h", "i", "l", "o"})
      add(piece, score--, 1);
    add(kSpace, -1.5f, 1);
    add("ab", -20, 1); // an earlier id than "bc" but a lower score
    add("bc", -10, 1);
    add(kSpace + "a", -30, 1);
    add("hi", -7, 1);
    add(kSpace + "hi", -8, 1);
    add("<|eot_id|>", 0, 3);
    add("<tool>", 0, 4);
  }
  GGUFBuilder builder() const {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", tokens)
        .floats("tokenizer.ggml.scores", scores)
        .ints("tokenizer.ggml.token_type", types)
        .u32("tokenizer.ggml.bos_token_id", 1)
        .u32("tokenizer.ggml.eos_token_id", 2)
        .u32("tokenizer.ggml.unknown_token_id", 0);
    return b;
  }
};

/// A byte-level ("gpt2") vocabulary: the 256 byte characters, a few merges
/// and two special tokens.
struct GPT2Vocab {
  std::vector<std::string> tokens;
  std::vector<std::string> merges;
  std::vector<int32_t> types;
  static std::string byteChar(int byte) { return byteLevelChar(byte); }

  void merge(const std::string &a, const std::string &b) {
    merges.push_back(a + " " + b);
    tokens.push_back(a + b);
    types.push_back(1);
  }
  int32_t id(const std::string &token) const {
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == token)
        return static_cast<int32_t>(i);
    ADD_FAILURE() << "no token " << token;
    return -1;
  }
  GPT2Vocab() {
    for (int b = 0; b < 256; ++b) {
      tokens.push_back(byteChar(b));
      types.push_back(1);
    }
    merge("1", "2");
    merge("12", "3");
    merge("'", "S");
    merge(byteChar(' '), "w");
    tokens.push_back("<|begin_of_text|>");
    types.push_back(3);
    tokens.push_back("<|eot_id|>");
    types.push_back(3);
  }
  GGUFBuilder builder(const std::string &pre) const {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "gpt2")
        .strings("tokenizer.ggml.tokens", tokens)
        .ints("tokenizer.ggml.token_type", types)
        .strings("tokenizer.ggml.merges", merges)
        .u32("tokenizer.ggml.bos_token_id", id("<|begin_of_text|>"))
        .u32("tokenizer.ggml.eos_token_id", id("<|eot_id|>"));
    if (!pre.empty())
      b.string("tokenizer.ggml.pre", pre);
    return b;
  }
};

std::unique_ptr<Tokenizer> convert(const GGUFFile &gguf) {
  auto converted = llmc::tokenizerJsonFromGGUF(gguf);
  EXPECT_TRUE(converted.ok()) << converted.message();
  if (!converted.ok())
    return nullptr;
  auto tokenizer = Tokenizer::fromJson(converted->first, converted->second,
                                       "converted.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.message();
  return tokenizer.ok() ? tokenizer.take() : nullptr;
}

void expectConversionError(GGUFBuilder &builder, const std::string &expected) {
  auto gguf = builder.build();
  ASSERT_TRUE(gguf);
  auto converted = llmc::tokenizerJsonFromGGUF(*gguf);
  ASSERT_FALSE(converted.ok()) << "accepted; expected: " << expected;
  EXPECT_NE(converted.message().find(expected), std::string::npos)
      << converted.message();
  EXPECT_EQ(converted.message().rfind("test.gguf: ", 0), 0u)
      << converted.message();
  EXPECT_EQ(converted.message().find('\n'), std::string::npos)
      << converted.message();
}

} // namespace

TEST(TokenizerGGUF, LlamaMergesFollowScoresNotIds) {
  LlamaVocab vocab;
  GGUFBuilder builder = vocab.builder();
  auto gguf = builder.build();
  ASSERT_TRUE(gguf);
  auto t = convert(*gguf);
  ASSERT_TRUE(t);
  EXPECT_STREQ(t->kindName(), "sentencepiece-bpe");
  // "▁abc": SentencePiece merges "bc" (score -10) before "ab" (-20), then
  // "▁a" (-30); ranking merges by id would have merged "ab" first.
  EXPECT_EQ(t->encode("abc", false, false),
            (std::vector<int32_t>{vocab.id(kSpace + "a"), vocab.id("bc")}));
  EXPECT_EQ(t->encode("hi", true, false),
            (std::vector<int32_t>{1, vocab.id(kSpace + "hi")}));
  // "é" is not a piece: byte fallback.
  EXPECT_EQ(t->encode("\xC3\xA9", false, false),
            (std::vector<int32_t>{vocab.id(kSpace), vocab.id("<0xC3>"),
                                  vocab.id("<0xA9>")}));
  EXPECT_EQ(t->decode(t->encode("hi abc \xC3\xA9", false, false)),
            "hi abc \xC3\xA9");
  EXPECT_TRUE(t->addBosByDefault()); // llama.cpp's default for "llama"
  EXPECT_EQ(t->bosId(), 1);
  EXPECT_EQ(t->eosId(), 2);
  EXPECT_EQ(t->vocabSize(), static_cast<int32_t>(vocab.tokens.size()));
}

TEST(TokenizerGGUF, LlamaTokenTypes) {
  LlamaVocab vocab;
  GGUFBuilder builder = vocab.builder();
  auto gguf = builder.build();
  ASSERT_TRUE(gguf);
  auto t = convert(*gguf);
  ASSERT_TRUE(t);
  int32_t eot = vocab.id("<|eot_id|>"), tool = vocab.id("<tool>");
  // Control tokens only with parseSpecial; user-defined tokens always.
  EXPECT_EQ(t->encode("hi<|eot_id|>", false, true),
            (std::vector<int32_t>{vocab.id(kSpace + "hi"), eot}));
  std::vector<int32_t> literal = t->encode("hi<|eot_id|>", false, false);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), eot), 0);
  EXPECT_EQ(t->encode("hi<tool>hi", false, false),
            (std::vector<int32_t>{vocab.id(kSpace + "hi"), tool,
                                  vocab.id(kSpace + "hi")}));
  EXPECT_TRUE(t->isSpecial(eot));
  EXPECT_FALSE(t->isSpecial(tool));
  EXPECT_TRUE(t->isEndOfGeneration(eot));
  EXPECT_TRUE(t->isEndOfGeneration(2));
}

TEST(TokenizerGGUF, LlamaOptions) {
  LlamaVocab vocab;
  GGUFBuilder builder = vocab.builder();
  builder.boolean("tokenizer.ggml.add_space_prefix", false)
      .boolean("tokenizer.ggml.add_bos_token", false)
      .string("tokenizer.chat_template", "{{ messages }}");
  auto gguf = builder.build();
  ASSERT_TRUE(gguf);
  auto converted = llmc::tokenizerJsonFromGGUF(*gguf);
  ASSERT_TRUE(converted.ok()) << converted.message();
  auto config = nlohmann::json::parse(converted->second);
  EXPECT_EQ(config["bos_token"], "<s>");
  EXPECT_EQ(config["eos_token"], "</s>");
  EXPECT_EQ(config["add_bos_token"], false);
  EXPECT_EQ(config["chat_template"], "{{ messages }}");
  auto t = convert(*gguf);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->addBosByDefault());
  EXPECT_EQ(t->chatTemplate(), "{{ messages }}");
  // No "▁" prepended: "abc" -> a bc.
  EXPECT_EQ(t->encode("abc", false, false),
            (std::vector<int32_t>{vocab.id("a"), vocab.id("bc")}));
  EXPECT_EQ(t->decode(t->encode(" hi", false, false)), " hi");
}

TEST(TokenizerGGUF, GPT2PreTokenizers) {
  GPT2Vocab vocab;
  auto encode = [&](const std::string &pre, const std::string &text) {
    GGUFBuilder builder = vocab.builder(pre);
    auto gguf = builder.build();
    auto t = gguf ? convert(*gguf) : nullptr;
    return t ? t->encode(text, false, false) : std::vector<int32_t>{-1};
  };
  int32_t d123 = vocab.id("123"), apostropheS = vocab.id("'S");
  // llama3: digits in threes, (?i) contractions.
  EXPECT_EQ(encode("llama-bpe", "12345"),
            (std::vector<int32_t>{d123, '4', '5'}));
  EXPECT_EQ(encode("llama-bpe", "'S"), (std::vector<int32_t>{apostropheS}));
  // qwen2: single digits.
  EXPECT_EQ(encode("qwen2", "123"), (std::vector<int32_t>{'1', '2', '3'}));
  // gpt-2: digit runs, case-sensitive contractions.
  EXPECT_EQ(encode("gpt-2", "12345"), (std::vector<int32_t>{d123, '4', '5'}));
  EXPECT_EQ(encode("gpt2", "'S"), (std::vector<int32_t>{'\'', 'S'}));
  // default (also when the key is absent): punctuation runs split first.
  EXPECT_EQ(encode("default", "123"), (std::vector<int32_t>{d123}));
  EXPECT_EQ(encode("", "'S"), (std::vector<int32_t>{'\'', 'S'}));
}

TEST(TokenizerGGUF, GPT2SpecialsAndDefaults) {
  GPT2Vocab vocab;
  GGUFBuilder builder = vocab.builder("llama-bpe");
  auto gguf = builder.build();
  ASSERT_TRUE(gguf);
  auto t = convert(*gguf);
  ASSERT_TRUE(t);
  EXPECT_STREQ(t->kindName(), "byte-level-bpe");
  int32_t begin = vocab.id("<|begin_of_text|>"), eot = vocab.id("<|eot_id|>");
  EXPECT_TRUE(t->addBosByDefault()); // llama.cpp's default for llama-bpe
  EXPECT_EQ(t->encode(" w<|eot_id|>", true, true),
            (std::vector<int32_t>{
                begin, vocab.id(GPT2Vocab::byteChar(' ') + "w"), eot}));
  EXPECT_EQ(t->decode({begin, vocab.id("'S"), eot}, true), "'S");
  EXPECT_TRUE(t->isEndOfGeneration(eot));

  GGUFBuilder qwen = vocab.builder("qwen2");
  auto qwenFile = qwen.build();
  ASSERT_TRUE(qwenFile);
  auto q = convert(*qwenFile);
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->addBosByDefault()); // not for qwen2
}

TEST(TokenizerGGUF, BadMetadataGivesOneLine) {
  GPT2Vocab gpt2;
  LlamaVocab llama;
  {
    GGUFBuilder b;
    b.strings("tokenizer.ggml.tokens", {"a"});
    expectConversionError(b, "missing metadata 'tokenizer.ggml.model'");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "bert")
        .strings("tokenizer.ggml.tokens", {"a"});
    expectConversionError(
        b,
        "unsupported tokenizer.ggml.model 'bert' (llmc supports llama, gpt2)");
  }
  {
    GGUFBuilder b = gpt2.builder("tekken-9000");
    expectConversionError(
        b, "unknown tokenizer.ggml.pre 'tekken-9000' (llmc knows default");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "llama");
    expectConversionError(b, "missing metadata 'tokenizer.ggml.tokens'");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "llama").u32("tokenizer.ggml.tokens", 3);
    expectConversionError(
        b, "'tokenizer.ggml.tokens' is a u32, expected an array");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {});
    expectConversionError(b, "'tokenizer.ggml.tokens' is empty");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", llama.tokens)
        .floats("tokenizer.ggml.scores", {1, 2, 3});
    expectConversionError(b, "'tokenizer.ggml.scores' has 3 entries for");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", llama.tokens)
        .floats("tokenizer.ggml.token_type", llama.scores);
    expectConversionError(
        b, "'tokenizer.ggml.token_type' is an array of f32, expected i32");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "gpt2")
        .strings("tokenizer.ggml.tokens", gpt2.tokens);
    expectConversionError(b, "missing metadata 'tokenizer.ggml.merges'");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "gpt2")
        .strings("tokenizer.ggml.tokens", gpt2.tokens)
        .strings("tokenizer.ggml.merges", {"12"});
    expectConversionError(b, "merge 0 ('12') is not 'left right'");
  }
  {
    GGUFBuilder b;
    b.string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", llama.tokens)
        .string("tokenizer.ggml.add_bos_token", "yes");
    expectConversionError(
        b, "'tokenizer.ggml.add_bos_token' is a string, expected a bool");
  }
}

TEST(TokenizerGGUF, ToleratesWhatLlamaCppTolerates) {
  // Out-of-range special ids fall back to llama.cpp's defaults, empty tokens
  // get llama.cpp's placeholder name, and scores/types may be absent.
  LlamaVocab vocab;
  GGUFBuilder b;
  std::vector<std::string> tokens = vocab.tokens;
  tokens.push_back("");
  b.string("tokenizer.ggml.model", "llama")
      .strings("tokenizer.ggml.tokens", tokens)
      .u32("tokenizer.ggml.bos_token_id", 99999)
      .u32("tokenizer.ggml.eos_token_id", 99999);
  auto gguf = b.build();
  ASSERT_TRUE(gguf);
  auto t = convert(*gguf);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->bosId(), 1);
  EXPECT_EQ(t->eosId(), 2);
  EXPECT_EQ(t->tokenText(static_cast<int32_t>(tokens.size()) - 1),
            "[EMPTY_" + std::to_string(tokens.size() - 1) + "]");
  // Without scores every merge ties; the text still round-trips.
  EXPECT_EQ(t->decode(t->encode("hi abc", false, false)), "hi abc");
}
