//===- TokenizerTest.cpp - tokenizer.json tokenizers ----------------------===//
//
// Small tokenizers built in the tests: a SentencePiece-style BPE with byte
// fallback (Llama 2 layout) and a byte-level BPE (Llama 3 layout).
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/Tokenizer.h"
#include "test/unit/ByteLevelChar.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

using llmc::StreamingDecoder;
using llmc::Tokenizer;
using Json = nlohmann::json;

namespace {

const std::string kSpace = "\xE2\x96\x81"; // "▁"

std::string byteToken(int byte) {
  char buffer[8];
  std::snprintf(buffer, sizeof(buffer), "<0x%02X>", byte);
  return buffer;
}


/// Builds vocab + merges: base tokens first, then each merge's result.
struct VocabBuilder {
  Json vocab = Json::object();
  Json merges = Json::array();
  int next = 0;
  int add(const std::string &token) {
    if (!vocab.contains(token))
      vocab[token] = next++;
    return vocab[token].get<int>();
  }
  int merge(const std::string &a, const std::string &b) {
    merges.push_back({a, b});
    return add(a + b);
  }
  int id(const std::string &token) const { return vocab.at(token).get<int>(); }
};

Json addedToken(int id, const std::string &content, bool special) {
  return {{"id", id},          {"content", content}, {"single_word", false},
          {"lstrip", false},   {"rstrip", false},    {"normalized", false},
          {"special", special}};
}

Json templateWith(const std::string &bos, int bosId) {
  Json special = {{"id", bos},
                  {"ids", Json::array({bosId})},
                  {"tokens", Json::array({bos})}};
  Json single = Json::array();
  single.push_back({{"SpecialToken", {{"id", bos}, {"type_id", 0}}}});
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  Json specials = Json::object();
  specials[bos] = special;
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"special_tokens", specials}};
}

//===----------------------------------------------------------------------===//
// SentencePiece-style fixture
//===----------------------------------------------------------------------===//

struct SentencePieceFixture {
  VocabBuilder v;
  Json json;
  Json config;

  SentencePieceFixture() {
    v.add("<unk>");
    v.add("<s>");
    v.add("</s>");
    for (int b = 0; b < 256; ++b)
      v.add(byteToken(b));
    for (const char *c : {"h", "e", "l", "o", "w", "r", "d", "a", "b", "c"})
      v.add(c);
    v.add(kSpace);
    v.merge("l", "l");
    v.merge(kSpace, "h");
    v.merge("e", "ll");
    v.merge(kSpace + "h", "ell");
    v.merge(kSpace + "hell", "o");
    v.merge("o", "r");
    v.merge(kSpace, "w");
    v.merge(kSpace + "w", "or");
    v.merge("l", "d");
    v.merge(kSpace + "wor", "ld");
    v.merge("a", "b");
    v.merge("b", "c");
    v.merge(kSpace, kSpace);
    json = {{"version", "1.0"},
            {"added_tokens", Json::array({addedToken(0, "<unk>", true),
                                          addedToken(1, "<s>", true),
                                          addedToken(2, "</s>", true)})},
            {"normalizer",
             {{"type", "Sequence"},
              {"normalizers",
               Json::array({{{"type", "Prepend"}, {"prepend", kSpace}},
                            {{"type", "Replace"},
                             {"pattern", {{"String", " "}}},
                             {"content", kSpace}}})}}},
            {"pre_tokenizer", nullptr},
            {"post_processor", templateWith("<s>", 1)},
            {"decoder",
             {{"type", "Sequence"},
              {"decoders", Json::array({{{"type", "Replace"},
                                         {"pattern", {{"String", kSpace}}},
                                         {"content", " "}},
                                        {{"type", "ByteFallback"}},
                                        {{"type", "Fuse"}},
                                        {{"type", "Strip"},
                                         {"content", " "},
                                         {"start", 1},
                                         {"stop", 0}}})}}},
            {"model",
             {{"type", "BPE"},
              {"unk_token", "<unk>"},
              {"fuse_unk", true},
              {"byte_fallback", true},
              {"vocab", v.vocab},
              {"merges", v.merges}}}};
    config = {
        {"bos_token", "<s>"},
        {"eos_token", {{"content", "</s>"}, {"special", true}}},
        {"add_bos_token", true},
        {"chat_template",
         "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"}};
  }

  std::unique_ptr<Tokenizer> load() const {
    auto tokenizer =
        Tokenizer::fromJson(json.dump(), config.dump(), "spm.json");
    EXPECT_TRUE(tokenizer.ok()) << tokenizer.message();
    return tokenizer.ok() ? tokenizer.take() : nullptr;
  }
};

//===----------------------------------------------------------------------===//
// Byte-level fixture
//===----------------------------------------------------------------------===//

const char *kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct ByteLevelFixture {
  VocabBuilder v;
  Json json;
  Json config;
  int begin = 0, end = 0, eot = 0, tool = 0;

  explicit ByteLevelFixture(bool ignoreMerges = true) {
    for (int b = 0; b < 256; ++b)
      v.add(byteLevelChar(b));
    std::string G = byteLevelChar(' ');
    v.merge(G, "w");
    v.merge("o", "r");
    v.merge(G + "w", "or");
    v.merge("l", "d");
    v.merge(G + "wor", "ld");
    v.merge("H", "e");
    v.merge("l", "l");
    v.merge("He", "ll");
    v.merge("Hell", "o");
    v.merge("1", "2");
    v.merge("12", "3");
    v.merge("a", "b");
    v.add("abc"); // reachable only through ignore_merges
    begin = v.add("<|begin_of_text|>");
    end = v.add("<|end_of_text|>");
    eot = v.add("<|eot_id|>");
    tool = v.add("<tool>");
    json = {{"version", "1.0"},
            {"added_tokens",
             Json::array({addedToken(begin, "<|begin_of_text|>", true),
                          addedToken(end, "<|end_of_text|>", true),
                          addedToken(eot, "<|eot_id|>", true),
                          addedToken(tool, "<tool>", false)})},
            {"normalizer", nullptr},
            {"pre_tokenizer",
             {{"type", "Sequence"},
              {"pretokenizers",
               Json::array({{{"type", "Split"},
                             {"pattern", {{"Regex", kLlama3Regex}}},
                             {"behavior", "Isolated"},
                             {"invert", false}},
                            {{"type", "ByteLevel"},
                             {"add_prefix_space", false},
                             {"trim_offsets", true},
                             {"use_regex", false}}})}}},
            {"post_processor", templateWith("<|begin_of_text|>", begin)},
            {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}}},
            {"model",
             {{"type", "BPE"},
              {"ignore_merges", ignoreMerges},
              {"vocab", v.vocab},
              {"merges", v.merges}}}};
    config = {{"bos_token", "<|begin_of_text|>"},
              {"eos_token", "<|end_of_text|>"},
              {"chat_template", "chatml"}};
  }

  std::unique_ptr<Tokenizer> load() const {
    auto tokenizer =
        Tokenizer::fromJson(json.dump(), config.dump(), "bytelevel.json");
    EXPECT_TRUE(tokenizer.ok()) << tokenizer.message();
    return tokenizer.ok() ? tokenizer.take() : nullptr;
  }
};

/// Strings that every tokenizer must give back unchanged.
const std::vector<std::string> kRoundTrip = {
    "hello world",
    "Hello world",
    " hello",
    "  two  spaces  ",
    "tabs\tand\nnewlines\r\n",
    "abc bcd",
    "caf\xC3\xA9 na\xC3\xAFve",                         // é ï: byte fallback
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",             // 日本語
    "\xF0\x9F\x98\x80 emoji",                           // 😀
    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", // Привет
    "12345 and 3.14",
    "it's",
    std::string("nul\0byte", 8),
    "",
};

} // namespace

//===----------------------------------------------------------------------===//
// SentencePiece-style BPE
//===----------------------------------------------------------------------===//

TEST(TokenizerSentencePiece, EncodesWithMergesByRank) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  EXPECT_STREQ(t->kindName(), "sentencepiece-bpe");
  EXPECT_EQ(t->encode("hello world", false, false),
            (std::vector<int32_t>{f.v.id(kSpace + "hello"),
                                  f.v.id(kSpace + "world")}));
  // "ab" has a lower rank than "bc": "▁abc" -> ▁ ab c.
  EXPECT_EQ(t->encode("abc", false, false),
            (std::vector<int32_t>{f.v.id(kSpace), f.v.id("ab"), f.v.id("c")}));
  // A leading space becomes a second "▁", which merges with neither side first.
  EXPECT_EQ(t->encode(" hello", false, false),
            (std::vector<int32_t>{f.v.id(kSpace), f.v.id(kSpace + "hello")}));
}

TEST(TokenizerSentencePiece, AddsBosFromTemplate) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->addBosByDefault());
  EXPECT_EQ(t->bosId(), 1);
  EXPECT_EQ(t->eosId(), 2);
  EXPECT_EQ(t->bosToken(), "<s>");
  EXPECT_EQ(t->eosToken(), "</s>");
  EXPECT_EQ(t->encode("hello", true, false),
            (std::vector<int32_t>{1, f.v.id(kSpace + "hello")}));
  EXPECT_EQ(t->encode("", true, false), (std::vector<int32_t>{1}));
  EXPECT_TRUE(t->encode("", false, false).empty());
  EXPECT_EQ(
      t->chatTemplate(),
      "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}");
  EXPECT_EQ(t->vocabSize(), f.v.next);
  EXPECT_EQ(t->tokenText(f.v.id(kSpace + "world")), kSpace + "world");
  EXPECT_EQ(t->tokenText(-1), "");
  EXPECT_EQ(t->tokenText(t->vocabSize()), "");
}

TEST(TokenizerSentencePiece, ByteFallbackForUnknownCharacters) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  // "é" is not in the vocab: its two UTF-8 bytes become <0xC3> <0xA9>.
  EXPECT_EQ(t->encode("\xC3\xA9", false, false),
            (std::vector<int32_t>{f.v.id(kSpace), f.v.id("<0xC3>"),
                                  f.v.id("<0xA9>")}));
  EXPECT_EQ(t->decode(t->encode("\xC3\xA9", false, false)), "\xC3\xA9");
}

// decode(encode(x)) == x: the normalizer prepends one "▁" and the decoder
// strips one leading space, so the text comes back exactly, leading spaces
// included. (Input that itself contains "▁" comes back with spaces there.)
TEST(TokenizerSentencePiece, RoundTrips) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  for (const std::string &text : kRoundTrip) {
    EXPECT_EQ(t->decode(t->encode(text, false, false)), text) << text;
    EXPECT_EQ(t->decode(t->encode(text, true, false), true), text) << text;
  }
}

TEST(TokenizerSentencePiece, SpecialTokensOnlyWhenParsed) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  std::vector<int32_t> parsed = t->encode("<s>hello</s>world", false, true);
  // Each run of text between specials gets its own "▁", as in llama.cpp.
  EXPECT_EQ(parsed, (std::vector<int32_t>{1, f.v.id(kSpace + "hello"), 2,
                                          f.v.id(kSpace + "world")}));
  std::vector<int32_t> literal = t->encode("<s>", false, false);
  EXPECT_EQ(literal.size(), 4u); // ▁ then < s > as bytes ("s" is not a piece)
  EXPECT_EQ(literal[0], f.v.id(kSpace));
  EXPECT_EQ(literal[1], f.v.id("<0x3C>"));
  EXPECT_EQ(t->decode(parsed), "<s> hello</s> world");
  EXPECT_EQ(t->decode(parsed, /*skipSpecial=*/true), "hello world");
  EXPECT_TRUE(t->isSpecial(1));
  EXPECT_FALSE(t->isSpecial(f.v.id("ab")));
  EXPECT_TRUE(t->isEndOfGeneration(2));
  EXPECT_FALSE(t->isEndOfGeneration(1));
}

TEST(TokenizerSentencePiece, InvalidUtf8BecomesReplacementCharacters) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  const std::string replacement = "\xEF\xBF\xBD";
  // One U+FFFD per maximal ill-formed subpart: F0 9F 98 is one (a truncated
  // emoji), FF is one, C0 is one (never valid), AF is one.
  EXPECT_EQ(t->encode("a\xF0\x9F\x98", false, false),
            t->encode("a" + replacement, false, false));
  EXPECT_EQ(t->encode("\xFF\xC0\xAF", false, false),
            t->encode(replacement + replacement + replacement, false, false));
  EXPECT_EQ(t->decode(t->encode("ab\xFFhello", false, false)),
            "ab" + replacement + "hello");
  // A lone byte token decodes to U+FFFD, not to an invalid byte.
  EXPECT_EQ(t->decode({f.v.id("<0xFF>")}), replacement);
  EXPECT_EQ(t->decode({f.v.id("<0xE6>"), f.v.id("<0x97>"), f.v.id("h")}),
            replacement + "h");
}

TEST(TokenizerSentencePiece, UnknownIdsAreSkippedWhenDecoding) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->decode({-5, f.v.id(kSpace + "hello"), 1 << 30}), "hello");
}

TEST(TokenizerSentencePiece, LongWordsAreNotQuadratic) {
  SentencePieceFixture f;
  f.v.merge("a", "a");
  f.v.merge("aa", "aa");
  f.v.merge("aaaa", "aaaa");
  f.json["model"]["vocab"] = f.v.vocab;
  f.json["model"]["merges"] = f.v.merges;
  auto t = f.load();
  ASSERT_TRUE(t);
  std::string text(200000, 'a');
  auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = t->encode(text, false, false);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_LT(seconds, 5.0);
  EXPECT_EQ(ids.size(), 1u + 200000 / 8);
  EXPECT_EQ(t->decode(ids), text);
}

TEST(TokenizerSentencePiece, MetaspacePreTokenizerForm) {
  // The newer form of the same tokenizer: no normalizer, a Metaspace
  // pre-tokenizer that prepends "▁" to the first piece only, and a Metaspace
  // decoder that removes it again.
  SentencePieceFixture f;
  f.json["normalizer"] = nullptr;
  f.json["pre_tokenizer"] = {{"type", "Metaspace"},
                             {"replacement", kSpace},
                             {"prepend_scheme", "first"},
                             {"split", false}};
  f.json["decoder"] = {{"type", "Sequence"},
                       {"decoders", Json::array({{{"type", "Metaspace"},
                                                  {"replacement", kSpace},
                                                  {"prepend_scheme", "first"}},
                                                 {{"type", "ByteFallback"}},
                                                 {{"type", "Fuse"}}})}};
  auto t = f.load();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->encode("hello world", false, false),
            (std::vector<int32_t>{f.v.id(kSpace + "hello"),
                                  f.v.id(kSpace + "world")}));
  // "first": after a special token nothing is prepended.
  EXPECT_EQ(t->encode("</s>hello", false, true),
            (std::vector<int32_t>{2, f.v.id("h"), f.v.id("ell"), f.v.id("o")}));
  EXPECT_EQ(t->decode(t->encode("hello world", false, false)), "hello world");
}

//===----------------------------------------------------------------------===//
// Byte-level BPE
//===----------------------------------------------------------------------===//

TEST(TokenizerByteLevel, EncodesWithSplitRegexAndByteLevel) {
  ByteLevelFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  EXPECT_STREQ(t->kindName(), "byte-level-bpe");
  EXPECT_EQ(t->encode("Hello world", false, false),
            (std::vector<int32_t>{f.v.id("Hello"),
                                  f.v.id(byteLevelChar(' ') + "world")}));
  // \p{N}{1,3}: digits in groups of three.
  EXPECT_EQ(t->encode("12345", false, false),
            (std::vector<int32_t>{f.v.id("123"), '4', '5'}));
  EXPECT_EQ(t->encode("Hello", true, false),
            (std::vector<int32_t>{f.begin, f.v.id("Hello")}));
  EXPECT_TRUE(t->addBosByDefault()); // from the template: no add_bos_token
  EXPECT_EQ(t->bosId(), f.begin);
  EXPECT_EQ(t->eosId(), f.end);
  EXPECT_EQ(t->chatTemplate(), "chatml");
}

TEST(TokenizerByteLevel, IgnoreMergesTakesWholeWords) {
  ByteLevelFixture withIgnore(true), without(false);
  auto a = withIgnore.load();
  auto b = without.load();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->encode("abc", false, false),
            (std::vector<int32_t>{withIgnore.v.id("abc")}));
  EXPECT_EQ(b->encode("abc", false, false),
            (std::vector<int32_t>{without.v.id("ab"), 'c'}));
}

TEST(TokenizerByteLevel, RoundTrips) {
  ByteLevelFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  for (const std::string &text : kRoundTrip)
    EXPECT_EQ(t->decode(t->encode(text, false, false)), text) << text;
}

TEST(TokenizerByteLevel, AddedAndSpecialTokens) {
  ByteLevelFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  std::vector<int32_t> parsed =
      t->encode("Hello<|eot_id|><tool> world", false, true);
  EXPECT_EQ(parsed,
            (std::vector<int32_t>{f.v.id("Hello"), f.eot, f.tool,
                                  f.v.id(byteLevelChar(' ') + "world")}));
  // Without parseSpecial, <|eot_id|> is text but the non-special <tool> is
  // still one token (as in tokenizers and llama.cpp).
  std::vector<int32_t> literal = t->encode("<|eot_id|><tool>", false, false);
  EXPECT_EQ(literal.back(), f.tool);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), f.eot), 0);
  EXPECT_EQ(t->decode(parsed), "Hello<|eot_id|><tool> world");
  EXPECT_EQ(t->decode(parsed, true), "Hello<tool> world");
  EXPECT_TRUE(t->isEndOfGeneration(f.eot));
  EXPECT_TRUE(t->isEndOfGeneration(f.end));
  EXPECT_FALSE(t->isEndOfGeneration(f.begin));
  EXPECT_FALSE(t->isEndOfGeneration(f.tool));
}

TEST(TokenizerByteLevel, AddedTokenFlags) {
  ByteLevelFixture f(/*ignoreMerges=*/false); // else "word" is found as a word

  int left = f.v.add("<L>"), right = f.v.add("<R>"), word = f.v.add("word");
  auto flagged = [](int id, const std::string &content, const char *flag) {
    Json token = addedToken(id, content, false);
    token[flag] = true;
    return token;
  };
  f.json["model"]["vocab"] = f.v.vocab;
  f.json["added_tokens"].push_back(flagged(left, "<L>", "lstrip"));
  f.json["added_tokens"].push_back(flagged(right, "<R>", "rstrip"));
  f.json["added_tokens"].push_back(flagged(word, "word", "single_word"));
  auto t = f.load();
  ASSERT_TRUE(t);
  // lstrip/rstrip take the whitespace on their side into the token.
  EXPECT_EQ(t->encode("a  \t<L>b", false, false),
            (std::vector<int32_t>{'a', left, 'b'}));
  EXPECT_EQ(t->encode("a<R> \n b", false, false),
            (std::vector<int32_t>{'a', right, 'b'}));
  // single_word: only where no letter, digit or '_' touches it.
  std::vector<int32_t> alone = t->encode("a word.", false, false);
  EXPECT_EQ(std::count(alone.begin(), alone.end(), word), 1);
  for (const char *text : {"swords", "word_", "\xC3\xA9word", "2word"}) {
    std::vector<int32_t> inside = t->encode(text, false, false);
    EXPECT_EQ(std::count(inside.begin(), inside.end(), word), 0) << text;
  }
}

TEST(TokenizerByteLevel, InvalidUtf8IsReplacedBeforeTokenizing) {
  ByteLevelFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->encode("x\xC3\x28", false, false),
            t->encode("x\xEF\xBF\xBD(", false, false));
  EXPECT_EQ(t->decode(t->encode("\xED\xA0\x80", false, false)),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

//===----------------------------------------------------------------------===//
// Streaming decoding
//===----------------------------------------------------------------------===//

TEST(TokenizerStreaming, HoldsPartialCharactersUntilComplete) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  StreamingDecoder stream(*t);
  // 😀 is F0 9F 98 80, here as four byte tokens after "hello".
  EXPECT_EQ(stream.push(f.v.id(kSpace + "hello")), "hello");
  EXPECT_EQ(stream.push(f.v.id("<0xF0>")), "");
  EXPECT_EQ(stream.push(f.v.id("<0x9F>")), "");
  EXPECT_EQ(stream.push(f.v.id("<0x98>")), "");
  EXPECT_EQ(stream.push(f.v.id("<0x80>")), "\xF0\x9F\x98\x80");
  EXPECT_EQ(stream.push(f.v.id(kSpace + "world")), " world");
  EXPECT_EQ(stream.flush(), "");
}

TEST(TokenizerStreaming, FlushReplacesAnIncompleteCharacter) {
  SentencePieceFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  StreamingDecoder stream(*t);
  EXPECT_EQ(stream.push(f.v.id("<0xF0>")), "");
  EXPECT_EQ(stream.push(f.v.id("<0x9F>")), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  // An invalid byte that can start nothing is replaced at once.
  StreamingDecoder other(*t);
  EXPECT_EQ(other.push(f.v.id("<0xFF>")), "\xEF\xBF\xBD");
}

TEST(TokenizerStreaming, ByteLevelCharacterSplitAcrossTokens) {
  ByteLevelFixture f;
  auto t = f.load();
  ASSERT_TRUE(t);
  StreamingDecoder stream(*t);
  EXPECT_EQ(stream.push(0xE6), "");
  EXPECT_EQ(stream.push(0x97), "");
  EXPECT_EQ(stream.push(0xA5), "\xE6\x97\xA5"); // 日
  EXPECT_EQ(stream.flush(), "");
}

TEST(TokenizerStreaming, EveryPrefixConcatenatesToDecode) {
  std::vector<std::unique_ptr<Tokenizer>> tokenizers;
  tokenizers.push_back(SentencePieceFixture().load());
  tokenizers.push_back(ByteLevelFixture().load());
  for (const auto &t : tokenizers) {
    ASSERT_TRUE(t);
    for (const std::string &text : kRoundTrip) {
      std::vector<int32_t> ids =
          t->encode(text + "\xF0\x9F\x98\x81 z\xC3", true, false);
      StreamingDecoder stream(*t);
      std::string streamed;
      for (int32_t id : ids) {
        std::string piece = stream.push(id);
        // Only whole characters come out.
        EXPECT_EQ(t->decode(t->encode(piece, false, false)), piece);
        streamed += piece;
      }
      streamed += stream.flush();
      EXPECT_EQ(streamed, t->decode(ids)) << text;
    }
  }
}

//===----------------------------------------------------------------------===//
// Malformed tokenizer.json
//===----------------------------------------------------------------------===//

namespace {
void expectError(const std::string &json, const std::string &config,
                 const std::string &expected) {
  auto t = Tokenizer::fromJson(json, config, "bad.json");
  ASSERT_FALSE(t.ok()) << "accepted: " << json.substr(0, 200);
  EXPECT_NE(t.message().find(expected), std::string::npos) << t.message();
  EXPECT_EQ(t.message().rfind("bad.json", 0), 0u) << t.message();
  EXPECT_EQ(t.message().find('\n'), std::string::npos) << t.message();
}

Json withModel(const Json &changes) {
  SentencePieceFixture f;
  for (auto it = changes.begin(); it != changes.end(); ++it)
    f.json["model"][it.key()] = it.value();
  return f.json;
}
} // namespace

TEST(TokenizerErrors, MalformedFilesGiveOneLine) {
  SentencePieceFixture f;
  expectError("{", "", "not valid JSON");
  expectError("[1, 2]", "", "expected a JSON object");
  expectError("{\"model\": 3}", "", "'model' must be an object");
  expectError(withModel({{"type", "Unigram"}}).dump(), "",
              "unsupported type 'Unigram'");
  expectError(withModel({{"vocab", Json::array()}}).dump(), "",
              "'vocab' must be an object");
  expectError(withModel({{"vocab", {{"a", -1}}}}).dump(), "",
              "the id of token 'a'");
  expectError(withModel({{"vocab", {{"a", "zero"}}}}).dump(), "",
              "the id of token 'a'");
  expectError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})", "",
              "the vocab is empty");
  expectError(withModel({{"merges", Json::object()}}).dump(), "",
              "'merges' must be an array");
  expectError(withModel({{"merges", Json::array({"a b c"})}}).dump(), "",
              "is not two tokens separated by one space");
  expectError(
      withModel({{"merges", Json::array({Json::array({"a", "zz"})})}}).dump(),
      "", "'zz' is not in the vocab");
  expectError(
      withModel({{"merges", Json::array({Json::array({"a", "c"})})}}).dump(),
      "", "the merged token 'ac' is not in the vocab");
  expectError(withModel({{"merges", Json::array({42})}}).dump(), "",
              "merge 0 is neither");
  expectError(withModel({{"continuing_subword_prefix", "##"}}).dump(), "",
              "'continuing_subword_prefix' is not supported");
  expectError(withModel({{"byte_fallback", "yes"}}).dump(), "",
              "'byte_fallback' must be a boolean");
  expectError(
      withModel({{"vocab", {{"a", 2000000000}}}, {"merges", Json::array()}})
          .dump(),
      "", "is far beyond the vocab");

  Json json = f.json;
  json["added_tokens"] = Json::object();
  expectError(json.dump(), "", "'added_tokens' must be an array");
  json["added_tokens"] = Json::array({{{"id", 1}}});
  expectError(json.dump(), "",
              "added token 0: 'content' must be a non-empty string");
  json["added_tokens"] = Json::array({{{"id", -3}, {"content", "x"}}});
  expectError(json.dump(), "", "added token 0: 'id'");

  json = f.json;
  json["normalizer"] = {{"type", "NFKC"}};
  expectError(json.dump(), "", "normalizer: unsupported type 'NFKC'");
  json["normalizer"] = {
      {"type", "Replace"}, {"pattern", {{"Regex", "("}}}, {"content", ""}};
  expectError(json.dump(), "", "invalid regex '('");
  json["normalizer"] = {{"type", "Sequence"}, {"normalizers", 5}};
  expectError(json.dump(), "", "'normalizers' must be an array");
  json["normalizer"] = "Prepend";
  expectError(json.dump(), "", "expected an object with a 'type'");

  json = f.json;
  json["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  expectError(json.dump(), "",
              "pre_tokenizer: unsupported type 'BertPreTokenizer'");
  json["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "[a-"}}}};
  expectError(json.dump(), "", "invalid regex");
  json["pre_tokenizer"] = {{"type", "Split"},
                           {"pattern", {{"Regex", "a"}}},
                           {"behavior", "Sideways"}};
  expectError(json.dump(), "", "unknown behavior 'Sideways'");
  json["pre_tokenizer"] = {{"type", "Split"}, {"pattern", "a"}};
  expectError(json.dump(), "", "'pattern' must be");
  json["pre_tokenizer"] = {{"type", "Metaspace"},
                           {"prepend_scheme", "sometimes"}};
  expectError(json.dump(), "", "unknown prepend_scheme 'sometimes'");

  json = f.json;
  json["decoder"] = {{"type", "WordPiece"}};
  expectError(json.dump(), "", "decoder: unsupported type 'WordPiece'");
  json["decoder"] = {{"type", "Strip"}, {"content", " "}, {"start", -1}};
  expectError(json.dump(), "", "'start' must be a small non-negative integer");

  json = f.json;
  json["post_processor"]["special_tokens"] = Json::object();
  expectError(json.dump(), "",
              "special token '<s>' is not in 'special_tokens'");
  json["post_processor"] = {{"type", "TemplateProcessing"}, {"single", 3}};
  expectError(json.dump(), "", "'single' must be an array");
  json["post_processor"] = {{"type", "Mystery"}};
  expectError(json.dump(), "", "post_processor: unsupported type 'Mystery'");
  json = f.json;
  json["post_processor"]["special_tokens"]["<s>"]["ids"] =
      Json::array({999999});
  expectError(json.dump(), "",
              "post_processor: token id 999999 is not in the vocab");
}

TEST(TokenizerErrors, MalformedConfigGivesOneLine) {
  SentencePieceFixture f;
  auto t = Tokenizer::fromJson(f.json.dump(), "{oops", "bad.json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("tokenizer_config.json"), std::string::npos)
      << t.message();
  EXPECT_NE(t.message().find("not a JSON object"), std::string::npos)
      << t.message();
  t = Tokenizer::fromJson(f.json.dump(), "{\"chat_template\": 3}", "bad.json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("'chat_template' must be a string"),
            std::string::npos);
  t = Tokenizer::fromJson(f.json.dump(), "{\"bos_token\": [1]}", "bad.json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("'bos_token' must be a string"),
            std::string::npos);
  t = Tokenizer::fromJson(f.json.dump(), "{\"add_bos_token\": \"yes\"}",
                          "bad.json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("'add_bos_token' must be a boolean"),
            std::string::npos);
  // Named templates: the "default" one is chosen.
  t = Tokenizer::fromJson(
      f.json.dump(),
      R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})",
      "ok.json");
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t.value()->chatTemplate(), "D");
}

// Every prefix of a valid file, and random byte flips, give an error or a
// working tokenizer: never a crash (run under ASan/UBSan in CI).
TEST(TokenizerErrors, TruncatedAndCorruptedFilesNeverCrash) {
  ByteLevelFixture f;
  std::string text = f.json.dump();
  for (size_t length = 0; length < text.size(); length += 7) {
    auto t = Tokenizer::fromJson(text.substr(0, length), "", "cut.json");
    EXPECT_FALSE(t.ok());
  }
  std::mt19937 random(1234);
  int accepted = 0;
  for (int i = 0; i < 300; ++i) {
    std::string mutated = text;
    for (int k = 0; k < 3; ++k)
      mutated[random() % mutated.size()] = static_cast<char>(random() % 128);
    auto t = Tokenizer::fromJson(mutated, "", "flip.json");
    if (t.ok()) {
      ++accepted;
      std::vector<int32_t> ids =
          t.value()->encode("Hello world 123 <|eot_id|>", true, true);
      (void)t.value()->decode(ids);
    }
  }
  EXPECT_GE(accepted, 0);
}

TEST(TokenizerFiles, ReadsFilesAndNamesMissingOnes) {
  SentencePieceFixture f;
  std::string dir = ::testing::TempDir();
  std::string jsonPath = dir + "/llmc_tokenizer_test.json";
  std::string configPath = dir + "/llmc_tokenizer_test_config.json";
  std::ofstream(jsonPath) << f.json.dump();
  std::ofstream(configPath) << f.config.dump();
  auto t = Tokenizer::fromFiles(jsonPath, configPath);
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t.value()->bosId(), 1);
  auto noConfig = Tokenizer::fromFiles(jsonPath, "");
  ASSERT_TRUE(noConfig.ok()) << noConfig.message();
  EXPECT_TRUE(noConfig.value()->addBosByDefault()); // from the template
  EXPECT_EQ(noConfig.value()->bosId(), 1);
  EXPECT_EQ(noConfig.value()->eosId(), -1);
  auto missing = Tokenizer::fromFiles(dir + "/nope.json", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("nope.json"), std::string::npos);
  std::ofstream(jsonPath) << "{\"model\": {}}";
  auto bad = Tokenizer::fromFiles(jsonPath, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message().rfind(jsonPath, 0), 0u) << bad.message();
  std::remove(jsonPath.c_str());
  std::remove(configPath.c_str());
}
