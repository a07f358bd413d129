//===- GGUFTokenizer.cpp - GGUF tokenizer metadata as tokenizer.json ------===//
//
// The runtime reads tokenizer.json only, so a GGUF model's tokenizer is
// rewritten into that format with the meaning llama.cpp gives the metadata:
//
//  - "llama" (SentencePiece): llama.cpp merges adjacent symbols whose
//    concatenation is a token, the highest-scoring token first, leftmost on
//    ties. The same result comes from BPE merges built from every split of
//    every token into two tokens, ranked by the merged token's score (what
//    Hugging Face's LlamaConverter does from a SentencePiece model), plus
//    "<0xNN>" byte fallback and the "▁" space handling as a normalizer.
//  - "gpt2" (byte-level BPE): merges as given, and the pre-tokenizer regexes
//    that llama.cpp uses for `tokenizer.ggml.pre`, as Split pre-tokenizers.
//
// Token types: 3 (control) and 2 (unknown) become special added tokens, 4
// (user-defined) non-special added tokens, matched in raw text as llama.cpp
// does; every token also stays in the model's vocab, as in llama.cpp.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/Tokenizer.h"

#include "runtime/formats/GGUF.h"
#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace llmc {

namespace {
using Json = nlohmann::json;

const char *kSpace = "\xE2\x96\x81"; // "▁"

// llama.cpp's token types.
enum TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

/// One `tokenizer.ggml.pre` family: the regexes llama.cpp applies in turn.
struct PreTokenizerFamily {
  std::vector<const char *> names;
  std::vector<const char *> regexes;
  bool ignoreMerges;
  // llama.cpp's default when tokenizer.ggml.add_bos_token is absent.
  bool addBos;
};

// llama.cpp writes the (?i:'s|...) of the original patterns as character
// classes; the two are the same for ASCII.
const char *kGPT2 = "'s|'t|'re|'ve|'m|'ll|'d"
                    "| ?\\p{L}+"
                    "| ?\\p{N}+"
                    "| ?[^\\s\\p{L}\\p{N}]+"
                    "|\\s+(?!\\S)";
const char *kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
    "|\\p{N}{1,3}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+"
    "|\\s+(?!\\S)"
    "|\\s+";
const char *kQwen2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
                     "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
                     "|\\p{N}"
                     "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                     "|\\s*[\\r\\n]+"
                     "|\\s+(?!\\S)"
                     "|\\s+";

const std::vector<PreTokenizerFamily> &preTokenizerFamilies() {
  static const std::vector<PreTokenizerFamily> families = {
      {{"default"},
       {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGPT2, "\\p{N}+", "[0-9][0-9][0-9]"},
       false,
       false},
      {{"gpt-2", "gpt2", "mpt", "olmo"}, {kGPT2}, false, false},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"},
       {kLlama3},
       true,
       true},
      {{"dbrx", "smaug-bpe"}, {kLlama3}, false, false},
      {{"qwen2", "deepseek-r1-qwen", "stablelm2"}, {kQwen2}, false, false},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell"},
       {"\\p{N}", kGPT2},
       false,
       false},
  };
  return families;
}

const PreTokenizerFamily *findFamily(const std::string &name) {
  for (const PreTokenizerFamily &family : preTokenizerFamilies())
    for (const char *known : family.names)
      if (name == known)
        return &family;
  return nullptr;
}

/// The tokenizer metadata of a GGUF file, checked.
struct GGUFVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;                    // empty when absent
  std::vector<int32_t> types;                   // empty when absent
  std::unordered_map<std::string, int32_t> ids; // last id wins, as in llama.cpp

  int32_t type(size_t id) const { return types.empty() ? kNormal : types[id]; }
  float score(size_t id) const {
    if (scores.empty())
      return 0.0f;
    return std::isnan(scores[id]) ? -INFINITY : scores[id];
  }
  int32_t find(const std::string &text) const {
    auto it = ids.find(text);
    return it == ids.end() ? -1 : it->second;
  }
};

Status error(const GGUFFile &gguf, const std::string &message) {
  return Status::error(gguf.path() + ": " + message);
}

Result<GGUFVocab> readVocab(const GGUFFile &gguf) {
  GGUFVocab vocab;
  LLMC_ASSIGN_OR_RETURN(vocab.tokens,
                        gguf.getStringArray("tokenizer.ggml.tokens"));
  if (vocab.tokens.empty())
    return error(gguf, "'tokenizer.ggml.tokens' is empty");
  if (vocab.tokens.size() >
      static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return error(gguf, "'tokenizer.ggml.tokens' has too many tokens");
  size_t n = vocab.tokens.size();
  if (gguf.has("tokenizer.ggml.scores")) {
    LLMC_ASSIGN_OR_RETURN(vocab.scores,
                          gguf.getFloatArray("tokenizer.ggml.scores"));
    if (vocab.scores.size() < n)
      return error(gguf, "'tokenizer.ggml.scores' has " +
                             std::to_string(vocab.scores.size()) +
                             " entries for " + std::to_string(n) + " tokens");
  }
  if (gguf.has("tokenizer.ggml.token_type")) {
    LLMC_ASSIGN_OR_RETURN(vocab.types,
                          gguf.getIntArray("tokenizer.ggml.token_type"));
    if (vocab.types.size() < n)
      return error(gguf, "'tokenizer.ggml.token_type' has " +
                             std::to_string(vocab.types.size()) +
                             " entries for " + std::to_string(n) + " tokens");
  }
  vocab.ids.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    std::string &text = vocab.tokens[id];
    if (text.empty())
      text = "[EMPTY_" + std::to_string(id) + "]"; // llama.cpp's name for it
    else if (!unicode::isValidUtf8(text))
      text = unicode::repairUtf8(text); // JSON text must be UTF-8
    vocab.ids[text] = static_cast<int32_t>(id);
  }
  return vocab;
}

/// An optional id key: absent or out of range gives `fallback` (if in range),
/// as llama.cpp does.
Result<int32_t> specialId(const GGUFFile &gguf, const std::string &key,
                          int32_t fallback, size_t vocabSize) {
  if (fallback >= 0 && static_cast<size_t>(fallback) >= vocabSize)
    fallback = -1;
  if (!gguf.has(key))
    return fallback;
  LLMC_ASSIGN_OR_RETURN(int64_t id, gguf.getInt(key));
  if (id < 0 || static_cast<uint64_t>(id) >= vocabSize)
    return fallback;
  return static_cast<int32_t>(id);
}

Result<bool> optionalFlag(const GGUFFile &gguf, const std::string &key,
                          bool fallback) {
  if (!gguf.has(key))
    return fallback;
  return gguf.getBool(key);
}

Json addedTokens(const GGUFVocab &vocab) {
  Json added = Json::array();
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    int32_t type = vocab.type(id);
    if (type != kControl && type != kUnknown && type != kUserDefined)
      continue;
    added.push_back({{"id", id},
                     {"content", vocab.tokens[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", type != kUserDefined}});
  }
  return added;
}

Json vocabObject(const GGUFVocab &vocab) {
  Json object = Json::object();
  for (const auto &[text, id] : vocab.ids)
    object[text] = id;
  return object;
}

/// BPE merges equivalent to SentencePiece's merging by score: every split
/// (at character boundaries) of every token into two tokens, best score first.
Json sentencePieceMerges(const GGUFVocab &vocab) {
  struct Candidate {
    float score;
    int32_t merged, left, right;
  };
  std::vector<Candidate> candidates;
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    const std::string &text = vocab.tokens[id];
    if (vocab.find(text) != static_cast<int32_t>(id))
      continue; // a duplicate: llama.cpp only knows the last one
    for (size_t cut = unicode::decodeChar(text, 0).length; cut < text.size();
         cut += unicode::decodeChar(text, cut).length) {
      int32_t left = vocab.find(text.substr(0, cut));
      int32_t right = vocab.find(text.substr(cut));
      if (left >= 0 && right >= 0)
        candidates.push_back(
            {vocab.score(id), static_cast<int32_t>(id), left, right});
    }
  }
  // Equal scores keep token order (as LlamaConverter does); llama.cpp would
  // prefer the leftmost pair there, which no ranking can express.
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate &a, const Candidate &b) {
              if (a.score != b.score)
                return a.score > b.score;
              if (a.merged != b.merged)
                return a.merged < b.merged;
              return a.left != b.left ? a.left < b.left : a.right < b.right;
            });
  Json merges = Json::array();
  for (const Candidate &c : candidates)
    merges.push_back({vocab.tokens[c.left], vocab.tokens[c.right]});
  return merges;
}

Result<Json> gpt2Merges(const GGUFFile &gguf, const GGUFVocab &vocab) {
  LLMC_ASSIGN_OR_RETURN(auto lines,
                        gguf.getStringArray("tokenizer.ggml.merges"));
  Json merges = Json::array();
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string &line = lines[i];
    size_t space = line.find(' ', 1); // as llama.cpp splits them
    if (space == std::string::npos)
      return error(gguf, "merge " + std::to_string(i) + " ('" +
                             unicode::repairUtf8(line) +
                             "') is not 'left right'");
    std::string left = line.substr(0, space), right = line.substr(space + 1);
    // A merge that cannot produce a token never yields one in llama.cpp
    // either; tokenizer.json cannot hold it, so it is dropped.
    if (vocab.find(left) < 0 || vocab.find(right) < 0 ||
        vocab.find(left + right) < 0)
      continue;
    merges.push_back({left, right});
  }
  return merges;
}

Json templateProcessing(const GGUFVocab &vocab, int32_t bos, bool addBos,
                        int32_t eos, bool addEos) {
  Json single = Json::array();
  Json specials = Json::object();
  auto addSpecial = [&](int32_t id) {
    const std::string &text = vocab.tokens[id];
    single.push_back({{"SpecialToken", {{"id", text}, {"type_id", 0}}}});
    specials[text] = {{"id", text},
                      {"ids", Json::array({id})},
                      {"tokens", Json::array({text})}};
  };
  if (addBos && bos >= 0)
    addSpecial(bos);
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (addEos && eos >= 0)
    addSpecial(eos);
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"pair", Json::array()},
          {"special_tokens", specials}};
}

Json replaceStep(const std::string &from, const std::string &to) {
  return {
      {"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}
} // namespace

const char *knownGGUFPreTokenizers() {
  static const std::string list = [] {
    std::string out;
    for (const PreTokenizerFamily &family : preTokenizerFamilies())
      for (const char *name : family.names)
        out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
  }();
  return list.c_str();
}

Result<std::pair<std::string, std::string>>
tokenizerJsonFromGGUF(const GGUFFile &gguf) {
  LLMC_ASSIGN_OR_RETURN(std::string modelName,
                        gguf.getString("tokenizer.ggml.model"));
  bool isLlama = modelName == "llama";
  if (!isLlama && modelName != "gpt2")
    return error(gguf, "unsupported tokenizer.ggml.model '" + modelName +
                           "' (llmc supports llama, gpt2)");
  const PreTokenizerFamily *family = nullptr;
  if (!isLlama) {
    std::string pre = "default";
    if (gguf.has("tokenizer.ggml.pre")) {
      LLMC_ASSIGN_OR_RETURN(pre, gguf.getString("tokenizer.ggml.pre"));
    }
    family = findFamily(pre);
    if (!family)
      return error(gguf, "unknown tokenizer.ggml.pre '" + pre +
                             "' (llmc knows " + knownGGUFPreTokenizers() + ")");
  }
  LLMC_ASSIGN_OR_RETURN(GGUFVocab vocab, readVocab(gguf));
  size_t n = vocab.tokens.size();
  // llama.cpp's defaults where a key is absent.
  LLMC_ASSIGN_OR_RETURN(
      int32_t bos,
      specialId(gguf, "tokenizer.ggml.bos_token_id", isLlama ? 1 : 11, n));
  LLMC_ASSIGN_OR_RETURN(
      int32_t eos,
      specialId(gguf, "tokenizer.ggml.eos_token_id", isLlama ? 2 : 11, n));
  LLMC_ASSIGN_OR_RETURN(
      int32_t unk,
      specialId(gguf, "tokenizer.ggml.unknown_token_id", isLlama ? 0 : -1, n));
  LLMC_ASSIGN_OR_RETURN(
      int32_t pad, specialId(gguf, "tokenizer.ggml.padding_token_id", -1, n));
  LLMC_ASSIGN_OR_RETURN(bool addBos,
                        optionalFlag(gguf, "tokenizer.ggml.add_bos_token",
                                     isLlama || family->addBos));
  LLMC_ASSIGN_OR_RETURN(
      bool addEos, optionalFlag(gguf, "tokenizer.ggml.add_eos_token", false));
  LLMC_ASSIGN_OR_RETURN(
      bool addSpacePrefix,
      optionalFlag(gguf, "tokenizer.ggml.add_space_prefix", isLlama));

  Json model = {
      {"type", "BPE"},
      {"dropout", nullptr},
      {"unk_token", unk >= 0 ? Json(vocab.tokens[unk]) : Json(nullptr)},
      {"continuing_subword_prefix", nullptr},
      {"end_of_word_suffix", nullptr},
      {"fuse_unk", isLlama},
      {"byte_fallback", isLlama},
      {"ignore_merges", !isLlama && family->ignoreMerges},
      {"vocab", vocabObject(vocab)}};
  Json tokenizer = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  tokenizer["added_tokens"] = addedTokens(vocab);
  if (isLlama) {
    model["merges"] = sentencePieceMerges(vocab);
    Json normalizers = Json::array();
    if (addSpacePrefix)
      normalizers.push_back({{"type", "Prepend"}, {"prepend", kSpace}});
    normalizers.push_back(replaceStep(" ", kSpace));
    tokenizer["normalizer"] = {{"type", "Sequence"},
                               {"normalizers", normalizers}};
    tokenizer["pre_tokenizer"] = nullptr;
    Json decoders = Json::array({replaceStep(kSpace, " "),
                                 {{"type", "ByteFallback"}},
                                 {{"type", "Fuse"}}});
    if (addSpacePrefix)
      decoders.push_back(
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    tokenizer["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  } else {
    LLMC_ASSIGN_OR_RETURN(model["merges"], gpt2Merges(gguf, vocab));
    Json steps = Json::array();
    for (const char *regex : family->regexes)
      steps.push_back({{"type", "Split"},
                       {"pattern", {{"Regex", regex}}},
                       {"behavior", "Isolated"},
                       {"invert", false}});
    steps.push_back({{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", true},
                     {"use_regex", false}});
    tokenizer["normalizer"] = nullptr;
    tokenizer["pre_tokenizer"] = {{"type", "Sequence"},
                                  {"pretokenizers", steps}};
    tokenizer["decoder"] = {{"type", "ByteLevel"},
                            {"add_prefix_space", true},
                            {"trim_offsets", true},
                            {"use_regex", true}};
  }
  tokenizer["post_processor"] =
      templateProcessing(vocab, bos, addBos, eos, addEos);
  tokenizer["model"] = std::move(model);

  Json config = {
      {"add_bos_token", addBos},
      {"add_eos_token", addEos},
      {"bos_token", bos >= 0 ? Json(vocab.tokens[bos]) : Json(nullptr)},
      {"eos_token", eos >= 0 ? Json(vocab.tokens[eos]) : Json(nullptr)},
      {"unk_token", unk >= 0 ? Json(vocab.tokens[unk]) : Json(nullptr)},
      {"pad_token", pad >= 0 ? Json(vocab.tokens[pad]) : Json(nullptr)},
      {"tokenizer_class",
       isLlama ? "LlamaTokenizerFast" : "PreTrainedTokenizerFast"}};
  if (gguf.has("tokenizer.chat_template")) {
    LLMC_ASSIGN_OR_RETURN(std::string chatTemplate,
                          gguf.getString("tokenizer.chat_template"));
    config["chat_template"] = unicode::repairUtf8(chatTemplate);
  }
  try {
    return std::make_pair(tokenizer.dump(), config.dump(2));
  } catch (const std::exception &e) {
    return error(gguf, std::string("cannot write tokenizer.json: ") + e.what());
  }
}

} // namespace llmc
