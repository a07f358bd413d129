//===- Tokenizer.cpp - text to token ids and back, from tokenizer.json ----===//
//
// encode: repair UTF-8 -> split on added tokens (raw text) -> normalize each
// piece -> split on added tokens (normalized text) -> pre-tokenize -> BPE,
// then the post-processor's template around the ids. This is the order of
// Hugging Face `tokenizers`, so the normalizer (e.g. SentencePiece's
// prepended "▁") applies to each run of text between added tokens, which is
// also what llama.cpp does.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/Tokenizer.h"

#include "runtime/support/MappedFile.h"
#include "runtime/tokenizer/TokenizerParts.h"
#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <limits>

namespace llmc {

using tokenizer::Json;

namespace {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  std::string
      pattern; // what is matched: the content, normalized if `normalized`
  bool special = false;
  bool lstrip = false, rstrip = false;
  bool normalized = false;
  bool singleWord = false;
};

/// Added tokens by first byte, longest first, for leftmost-longest matching.
struct AddedTokenMatcher {
  std::array<std::vector<const AddedToken *>, 256> byFirstByte;
  bool empty = true;
  void add(const AddedToken *token) {
    byFirstByte[static_cast<uint8_t>(token->pattern[0])].push_back(token);
    empty = false;
  }
};

/// Text, or one added token (`id` >= 0).
struct Segment {
  std::string text;
  int32_t id = -1;
  bool atStart = false;
};

const char *kEndOfGenerationTexts[] = {
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|end_of_text|>",
    "<|endoftext|>",
    "<|end|>",
    "<end_of_turn>",
    "<|return|>",
    "<|EOT|>",
    "<EOT>",
    "<|end_of_turn|>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
};

size_t previousCharStart(const std::string &text, size_t pos) {
  do {
    --pos;
  } while (pos > 0 && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80);
  return pos;
}

bool whitespaceAt(const std::string &text, size_t pos,
                  size_t *length = nullptr) {
  unicode::DecodedChar c = unicode::decodeChar(text, pos);
  if (length)
    *length = c.length;
  return c.valid && unicode::isWhitespace(c.codePoint);
}

/// Rust's char::is_alphanumeric or '_', which single_word tokens must not
/// touch.
bool isWordChar(uint32_t cp) {
  static const auto regex = Regex::compile("^[\\p{Alphabetic}\\p{N}_]$");
  if (!regex.ok()) // a PCRE2 without binary properties: ASCII is exact
    return cp == '_' || cp >= 0x80 || std::isalnum(static_cast<int>(cp));
  std::string text;
  unicode::appendUtf8(text, cp);
  bool matched = false;
  regex.value()->forEachMatch(text, [&](size_t, size_t) { matched = true; });
  return matched;
}

bool singleWordBoundaries(const std::string &text, size_t begin, size_t end) {
  if (begin > 0) {
    unicode::DecodedChar c =
        unicode::decodeChar(text, previousCharStart(text, begin));
    if (c.valid && isWordChar(c.codePoint))
      return false;
  }
  if (end < text.size()) {
    unicode::DecodedChar c = unicode::decodeChar(text, end);
    if (c.valid && isWordChar(c.codePoint))
      return false;
  }
  return true;
}

/// Splits `text` at the added tokens of `matcher` (leftmost, then longest).
void splitOnAddedTokens(const std::string &text, bool atStart,
                        const AddedTokenMatcher &matcher,
                        std::vector<Segment> &out) {
  if (matcher.empty) {
    if (!text.empty())
      out.push_back({text, -1, atStart});
    return;
  }
  size_t previousEnd = 0;
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken *hit = nullptr;
    for (const AddedToken *token :
         matcher.byFirstByte[static_cast<uint8_t>(text[pos])]) {
      const std::string &pattern = token->pattern;
      if (text.compare(pos, pattern.size(), pattern) != 0)
        continue;
      if (token->singleWord &&
          !singleWordBoundaries(text, pos, pos + pattern.size()))
        continue;
      hit = token;
      break;
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = pos + hit->pattern.size();
    if (hit->lstrip)
      while (begin > previousEnd &&
             whitespaceAt(text, previousCharStart(text, begin)))
        begin = previousCharStart(text, begin);
    size_t length = 0;
    if (hit->rstrip)
      while (end < text.size() && whitespaceAt(text, end, &length))
        end += length;
    if (begin > previousEnd)
      out.push_back({text.substr(previousEnd, begin - previousEnd), -1,
                     atStart && previousEnd == 0});
    out.push_back({"", hit->id, false});
    previousEnd = pos = end;
  }
  if (previousEnd < text.size())
    out.push_back({text.substr(previousEnd), -1, atStart && previousEnd == 0});
}

/// A token written as "<s>" or {"content": "<s>", ...} in
/// tokenizer_config.json.
Result<std::string> configToken(const Json &config, const char *key,
                                const std::string &where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null())
    return std::string();
  if (it->is_string())
    return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string())
      return content->get<std::string>();
  }
  return Status::error(
      where + ": '" + key +
      "' must be a string or an object with a 'content' string");
}

} // namespace

struct Tokenizer::Impl {
  std::string name;
  tokenizer::Normalizer normalizer;
  tokenizer::PreTokenizer preTokenizer;
  tokenizer::BPEModel model;
  tokenizer::Decoder decoder;
  std::vector<AddedToken> added;
  // [raw text | normalized text][all added tokens | only non-special ones]
  AddedTokenMatcher matchers[2][2];
  std::vector<std::string> idToText;
  std::vector<uint8_t> special;         // per id
  std::vector<uint8_t> endOfGeneration; // per id
  bool hasTemplate = false;
  std::vector<int32_t> prefixIds, suffixIds;
  int32_t bos = -1, eos = -1;
  bool addBosDefault = false;
  std::string chatTemplate, bosText, eosText;

  Status error(const std::string &message) const {
    return Status::error(name + ": " + message);
  }
  int32_t findToken(const std::string &text) const;
  Status readAddedTokens(const Json &json);
  Status readPostProcessor(const Json &json);
  Status readConfig(const std::string &configText,
                    const std::string &configName);
  Status buildIdTables();
  void encodeText(const Segment &segment, bool parseSpecial,
                  std::vector<int32_t> &ids) const;
};

int32_t Tokenizer::Impl::findToken(const std::string &text) const {
  for (const AddedToken &token : added)
    if (token.content == text)
      return token.id;
  return model.find(text);
}

Status Tokenizer::Impl::readAddedTokens(const Json &json) {
  if (json.is_null())
    return Status::ok();
  if (!json.is_array())
    return error("'added_tokens' must be an array");
  added.reserve(json.size());
  for (const Json &entry : json) {
    std::string what = "added token " + std::to_string(added.size());
    if (!entry.is_object())
      return error(what + " is not an object");
    AddedToken token;
    auto id = entry.find("id");
    if (id == entry.end() || !id->is_number_integer() ||
        id->get<int64_t>() < 0 ||
        id->get<int64_t>() > std::numeric_limits<int32_t>::max())
      return error(what + ": 'id' must be a non-negative 32-bit integer");
    token.id = static_cast<int32_t>(id->get<int64_t>());
    auto content = entry.find("content");
    if (content == entry.end() || !content->is_string() ||
        content->get_ref<const std::string &>().empty())
      return error(what + ": 'content' must be a non-empty string");
    token.content = content->get<std::string>();
    auto flag = [&](const char *key, bool fallback, bool &out) -> Status {
      auto value = tokenizer::optionalBool(entry, key, fallback, what);
      if (!value.ok())
        return error(value.message());
      out = value.value();
      return Status::ok();
    };
    LLMC_RETURN_IF_ERROR(flag("special", false, token.special));
    LLMC_RETURN_IF_ERROR(flag("lstrip", false, token.lstrip));
    LLMC_RETURN_IF_ERROR(flag("rstrip", false, token.rstrip));
    LLMC_RETURN_IF_ERROR(flag("single_word", false, token.singleWord));
    LLMC_RETURN_IF_ERROR(flag("normalized", !token.special, token.normalized));
    added.push_back(std::move(token));
  }
  return Status::ok();
}

Status Tokenizer::Impl::readPostProcessor(const Json &json) {
  if (json.is_null())
    return Status::ok();
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string())
    return error("post_processor: expected an object with a 'type'");
  std::string type = json["type"].get<std::string>();
  std::string what = "post_processor " + type;
  if (type == "ByteLevel")
    return Status::ok();
  if (type == "Sequence") {
    auto it = json.find("processors");
    if (it == json.end() || !it->is_array())
      return error(what + ": 'processors' must be an array");
    for (const Json &inner : *it)
      LLMC_RETURN_IF_ERROR(readPostProcessor(inner));
    return Status::ok();
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    auto tokenId = [&](const char *key, int32_t &out) -> Status {
      auto it = json.find(key);
      if (it == json.end() || !it->is_array() || it->size() != 2 ||
          !(*it)[1].is_number_integer() || (*it)[1].get<int64_t>() < 0 ||
          (*it)[1].get<int64_t>() > std::numeric_limits<int32_t>::max())
        return error(what + ": '" + key + "' must be [token, id]");
      out = static_cast<int32_t>((*it)[1].get<int64_t>());
      return Status::ok();
    };
    int32_t cls = -1, sep = -1;
    LLMC_RETURN_IF_ERROR(tokenId("cls", cls));
    LLMC_RETURN_IF_ERROR(tokenId("sep", sep));
    hasTemplate = true;
    prefixIds = {cls};
    suffixIds = {sep};
    return Status::ok();
  }
  if (type != "TemplateProcessing")
    return error("post_processor: unsupported type '" + type +
                 "' (llmc supports TemplateProcessing, ByteLevel, Sequence, "
                 "RobertaProcessing, BertProcessing)");
  auto single = json.find("single");
  auto specials = json.find("special_tokens");
  if (single == json.end() || !single->is_array())
    return error(what + ": 'single' must be an array");
  if (specials != json.end() && !specials->is_object() && !specials->is_null())
    return error(what + ": 'special_tokens' must be an object");
  hasTemplate = true;
  prefixIds.clear();
  suffixIds.clear();
  bool sawSequence = false;
  for (const Json &item : *single) {
    if (item.is_object() && item.contains("Sequence")) {
      sawSequence = true;
      continue;
    }
    auto special = item.is_object() ? item.find("SpecialToken") : item.end();
    if (!item.is_object() || special == item.end() || !special->is_object() ||
        !special->contains("id") || !(*special)["id"].is_string())
      return error(what + ": each item of 'single' must be a Sequence or a "
                          "SpecialToken with an 'id'");
    std::string key = (*special)["id"].get<std::string>();
    if (specials == json.end() || !specials->is_object() ||
        !specials->contains(key))
      return error(what + ": special token '" + key +
                   "' is not in 'special_tokens'");
    const Json &entry = (*specials)[key];
    auto ids = entry.is_object() ? entry.find("ids") : entry.end();
    if (!entry.is_object() || ids == entry.end() || !ids->is_array())
      return error(what + ": special token '" + key + "' has no 'ids' array");
    for (const Json &id : *ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
          id.get<int64_t>() > std::numeric_limits<int32_t>::max())
        return error(what + ": special token '" + key + "' has an invalid id");
      (sawSequence ? suffixIds : prefixIds)
          .push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  }
  if (!sawSequence)
    return error(what + ": 'single' has no Sequence");
  return Status::ok();
}

Status Tokenizer::Impl::readConfig(const std::string &configText,
                                   const std::string &configName) {
  if (!configText.empty()) {
    Json config = Json::parse(configText, nullptr, false);
    if (config.is_discarded() || !config.is_object())
      return Status::error(configName + ": not a JSON object");
    LLMC_ASSIGN_OR_RETURN(bosText,
                          configToken(config, "bos_token", configName));
    LLMC_ASSIGN_OR_RETURN(eosText,
                          configToken(config, "eos_token", configName));
    auto addBos =
        tokenizer::optionalBool(config, "add_bos_token", false, configName);
    if (!addBos.ok())
      return addBos.status();
    if (config.contains("add_bos_token") && !config["add_bos_token"].is_null())
      addBosDefault = addBos.value();
    else
      addBosDefault = hasTemplate && !prefixIds.empty();
    auto chat = config.find("chat_template");
    if (chat != config.end() && chat->is_string()) {
      chatTemplate = chat->get<std::string>();
    } else if (chat != config.end() && chat->is_array()) {
      // Several named templates: the "default" one, else the first.
      for (const Json &entry : *chat) {
        if (!entry.is_object() || !entry.contains("template") ||
            !entry["template"].is_string())
          return Status::error(configName +
                               ": 'chat_template' entries must have "
                               "a 'template' string");
        bool isDefault = entry.contains("name") && entry["name"] == "default";
        if (chatTemplate.empty() || isDefault)
          chatTemplate = entry["template"].get<std::string>();
        if (isDefault)
          break;
      }
    } else if (chat != config.end() && !chat->is_null()) {
      return Status::error(configName + ": 'chat_template' must be a string");
    }
  } else {
    addBosDefault = hasTemplate && !prefixIds.empty();
  }
  bos = bosText.empty()
            ? (hasTemplate && !prefixIds.empty() ? prefixIds[0] : -1)
            : findToken(bosText);
  eos = eosText.empty() ? -1 : findToken(eosText);
  return Status::ok();
}

Status Tokenizer::Impl::buildIdTables() {
  int32_t maxId = model.maxId();
  for (const AddedToken &token : added)
    maxId = std::max(maxId, token.id);
  if (maxId < 0)
    return error("the vocab is empty");
  // Ids index dense tables: refuse a sparse id far beyond the vocab's size
  // rather than allocate for it.
  size_t entries = model.vocab().size() + added.size();
  if (static_cast<size_t>(maxId) > 2 * entries + 1024)
    return error("token id " + std::to_string(maxId) +
                 " is far beyond the vocab's " + std::to_string(entries) +
                 " entries");
  size_t size = static_cast<size_t>(maxId) + 1;
  idToText.assign(size, std::string());
  special.assign(size, 0);
  endOfGeneration.assign(size, 0);
  for (const auto &[text, id] : model.vocab())
    idToText[id] = text;
  for (const AddedToken &token : added) {
    idToText[token.id] = token.content;
    special[token.id] = token.special;
    if (token.special)
      for (const char *text : kEndOfGenerationTexts)
        if (token.content == text)
          endOfGeneration[token.id] = 1;
  }
  for (int32_t id : prefixIds)
    if (id < 0 || static_cast<size_t>(id) >= size)
      return error("post_processor: token id " + std::to_string(id) +
                   " is not in the vocab");
  for (int32_t id : suffixIds)
    if (id < 0 || static_cast<size_t>(id) >= size)
      return error("post_processor: token id " + std::to_string(id) +
                   " is not in the vocab");

  // Normalized added tokens are matched in normalized text, so their
  // content is normalized too.
  for (int normalizedPass = 0; normalizedPass < 2; ++normalizedPass)
    for (int plainOnly = 0; plainOnly < 2; ++plainOnly)
      matchers[normalizedPass][plainOnly] = AddedTokenMatcher();
  for (AddedToken &token : added) {
    token.pattern =
        token.normalized ? normalizer.apply(token.content) : token.content;
    if (token.pattern.empty())
      token.pattern = token.content;
  }
  for (const AddedToken &token : added) {
    int pass = token.normalized ? 1 : 0;
    matchers[pass][0].add(&token);
    if (!token.special)
      matchers[pass][1].add(&token);
  }
  for (auto &byPass : matchers)
    for (AddedTokenMatcher &matcher : byPass)
      for (auto &candidates : matcher.byFirstByte)
        std::stable_sort(candidates.begin(), candidates.end(),
                         [](const AddedToken *a, const AddedToken *b) {
                           return a->pattern.size() > b->pattern.size();
                         });
  return Status::ok();
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

namespace {
Result<std::unique_ptr<Tokenizer::Impl>>
buildImpl(const std::string &tokenizerJson, const std::string &configText,
          const std::string &name, const std::string &configName) {
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->name = name;
  Json json = Json::parse(tokenizerJson, nullptr, false);
  if (json.is_discarded())
    return impl->error("not valid JSON");
  if (!json.is_object())
    return impl->error("expected a JSON object at the top level");
  auto field = [&](const char *key) -> const Json & {
    static const Json null;
    auto it = json.find(key);
    return it == json.end() ? null : *it;
  };
  auto withName = [&](Status status) { return status.withContext(name); };
  if (!field("model").is_object())
    return impl->error("'model' must be an object");
  {
    auto model = tokenizer::BPEModel::fromJson(field("model"));
    if (!model.ok())
      return withName(model.status());
    impl->model = model.take();
  }
  {
    auto normalizer = tokenizer::Normalizer::fromJson(field("normalizer"));
    if (!normalizer.ok())
      return withName(normalizer.status());
    impl->normalizer = normalizer.take();
  }
  {
    auto preTokenizer =
        tokenizer::PreTokenizer::fromJson(field("pre_tokenizer"));
    if (!preTokenizer.ok())
      return withName(preTokenizer.status());
    impl->preTokenizer = preTokenizer.take();
  }
  {
    auto decoder = tokenizer::Decoder::fromJson(field("decoder"));
    if (!decoder.ok())
      return withName(decoder.status());
    impl->decoder = decoder.take();
  }
  LLMC_RETURN_IF_ERROR(impl->readAddedTokens(field("added_tokens")));
  LLMC_RETURN_IF_ERROR(impl->readPostProcessor(field("post_processor")));
  LLMC_RETURN_IF_ERROR(impl->buildIdTables());
  LLMC_RETURN_IF_ERROR(impl->readConfig(configText, configName));
  return impl;
}

} // namespace

Result<std::unique_ptr<Tokenizer>>
Tokenizer::load(const std::string &tokenizerJson, const std::string &configText,
                const std::string &name, const std::string &configName) {
  // Nothing below should throw; this keeps a surprise (e.g. bad_alloc) an
  // error value rather than an exception across the API.
  try {
    auto impl = buildImpl(tokenizerJson, configText, name, configName);
    if (!impl.ok())
      return impl.status();
    return std::unique_ptr<Tokenizer>(new Tokenizer(impl.take()));
  } catch (const std::exception &e) {
    return Status::error(name + ": " + e.what());
  } catch (...) {
    return Status::error(name +
                         ": unexpected error while reading the tokenizer");
  }
}

Result<std::unique_ptr<Tokenizer>>
Tokenizer::fromJson(const std::string &tokenizerJson,
                    const std::string &tokenizerConfigJson,
                    const std::string &name) {
  return load(tokenizerJson, tokenizerConfigJson, name,
              name + " (tokenizer_config.json)");
}

Result<std::unique_ptr<Tokenizer>>
Tokenizer::fromFiles(const std::string &tokenizerJsonPath,
                     const std::string &tokenizerConfigPath) {
  LLMC_ASSIGN_OR_RETURN(std::string json, readTextFile(tokenizerJsonPath));
  std::string config;
  if (!tokenizerConfigPath.empty()) {
    LLMC_ASSIGN_OR_RETURN(config, readTextFile(tokenizerConfigPath));
  }
  return load(json, config, tokenizerJsonPath, tokenizerConfigPath);
}

void Tokenizer::Impl::encodeText(const Segment &segment, bool parseSpecial,
                                 std::vector<int32_t> &ids) const {
  std::vector<Segment> pieces;
  splitOnAddedTokens(normalizer.apply(segment.text), segment.atStart,
                     matchers[1][parseSpecial ? 0 : 1], pieces);
  std::vector<tokenizer::Piece> words;
  for (Segment &piece : pieces) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    words.clear();
    words.push_back({std::move(piece.text), piece.atStart});
    preTokenizer.apply(words);
    for (const tokenizer::Piece &word : words)
      model.encodeWord(word.text, ids);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool addBos,
                                       bool parseSpecial) const {
  std::string clean = unicode::isValidUtf8(text) ? std::string(text)
                                                 : unicode::repairUtf8(text);
  std::vector<Segment> segments;
  splitOnAddedTokens(clean, true, impl_->matchers[0][parseSpecial ? 0 : 1],
                     segments);
  std::vector<int32_t> ids;
  if (addBos) {
    if (impl_->hasTemplate)
      ids = impl_->prefixIds;
    else if (impl_->bos >= 0)
      ids.push_back(impl_->bos);
  }
  for (const Segment &segment : segments) {
    if (segment.id >= 0)
      ids.push_back(segment.id);
    else
      impl_->encodeText(segment, parseSpecial, ids);
  }
  if (addBos && impl_->hasTemplate)
    ids.insert(ids.end(), impl_->suffixIds.begin(), impl_->suffixIds.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids,
                              bool skipSpecial) const {
  StreamingDecoder decoder(*this, skipSpecial);
  std::string text;
  for (int32_t id : ids)
    text += decoder.push(id);
  text += decoder.flush();
  return text;
}

int32_t Tokenizer::vocabSize() const {
  return static_cast<int32_t>(impl_->idToText.size());
}
int32_t Tokenizer::bosId() const { return impl_->bos; }
int32_t Tokenizer::eosId() const { return impl_->eos; }
bool Tokenizer::addBosByDefault() const { return impl_->addBosDefault; }

bool Tokenizer::isEndOfGeneration(int32_t id) const {
  if (id < 0 || id >= vocabSize())
    return false;
  return id == impl_->eos || impl_->endOfGeneration[id];
}

bool Tokenizer::isSpecial(int32_t id) const {
  return id >= 0 && id < vocabSize() && impl_->special[id];
}

const std::string &Tokenizer::chatTemplate() const {
  return impl_->chatTemplate;
}

std::string Tokenizer::bosToken() const {
  return impl_->bosText.empty() ? tokenText(impl_->bos) : impl_->bosText;
}
std::string Tokenizer::eosToken() const {
  return impl_->eosText.empty() ? tokenText(impl_->eos) : impl_->eosText;
}

const char *Tokenizer::kindName() const {
  return impl_->preTokenizer.isByteLevel() || impl_->decoder.isByteLevel()
             ? "byte-level-bpe"
             : "sentencepiece-bpe";
}

std::string Tokenizer::tokenText(int32_t id) const {
  if (id < 0 || id >= vocabSize())
    return std::string();
  return impl_->idToText[id];
}

std::string Tokenizer::tokenBytes(int32_t id) const {
  if (id < 0 || id >= vocabSize() || impl_->idToText[id].empty())
    return std::string();
  return impl_->decoder.tokenBytes(impl_->idToText[id]);
}

//===----------------------------------------------------------------------===//
// StreamingDecoder
//===----------------------------------------------------------------------===//

StreamingDecoder::StreamingDecoder(const Tokenizer &tokenizer, bool skipSpecial)
    : tokenizer_(tokenizer), skipSpecial_(skipSpecial),
      stripLeft_(tokenizer.impl_->decoder.leadingStrip()) {}

std::string StreamingDecoder::push(int32_t id) {
  if (tokenizer_.tokenText(id).empty())
    return std::string(); // unknown ids are skipped, as tokenizers does
  if (skipSpecial_ && tokenizer_.isSpecial(id))
    return std::string();
  if (tokenizer_.impl_->decoder.joinsWithSpace() && !firstToken_)
    pending_.push_back(' ');
  firstToken_ = false;
  pending_ += tokenizer_.tokenBytes(id);
  return take(false);
}

std::string StreamingDecoder::flush() { return take(true); }

std::string StreamingDecoder::take(bool all) {
  const std::string &strip = tokenizer_.impl_->decoder.stripText();
  while (stripLeft_ > 0 && !pending_.empty()) {
    if (pending_.compare(0, strip.size(), strip) == 0) {
      pending_.erase(0, strip.size());
      --stripLeft_;
    } else if (pending_.size() < strip.size() &&
               strip.compare(0, pending_.size(), pending_) == 0 && !all) {
      return std::string(); // could still become the stripped text
    } else {
      stripLeft_ = 0;
    }
  }
  size_t ready =
      all ? pending_.size() : unicode::completePrefixLength(pending_);
  std::string out =
      unicode::repairUtf8(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

} // namespace llmc
