//===- Decoder.cpp - tokenizer.json "decoder" -----------------------------===//
//
// Supported: Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel and
// Metaspace. llmc decodes token by token into bytes (so that a streaming
// decoder and a whole decode agree) and repairs ill-formed UTF-8 once, on
// the joined bytes: a "<0xE4>" byte token followed by a normal token gives
// one U+FFFD, where tokenizers' ByteFallback gives one per byte.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/TokenizerParts.h"

#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

namespace llmc::tokenizer {

namespace {
const char *kWhat = "decoder";

int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

Result<size_t> readCount(const Json &json, const char *key,
                         const std::string &what) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null())
    return size_t(0);
  if (!it->is_number_unsigned() || it->get<uint64_t>() > 1024)
    return Status::error(what + ": '" + key +
                         "' must be a small non-negative integer");
  return static_cast<size_t>(it->get<uint64_t>());
}
} // namespace

Result<Decoder> Decoder::fromJson(const Json &json) {
  Decoder decoder;
  if (json.is_null()) {
    decoder.joinWithSpace_ = true;
    return decoder;
  }
  bool fused = false;
  LLMC_RETURN_IF_ERROR(decoder.addStep(json, fused));
  return decoder;
}

Status Decoder::addStep(const Json &json, bool &fused) {
  LLMC_ASSIGN_OR_RETURN(std::string type, componentType(json, kWhat));
  std::string what = std::string(kWhat) + " " + type;
  Step step{};
  if (type == "Sequence")
    return forEachInSequence(json, "decoders", what, [&](const Json &inner) {
      return addStep(inner, fused);
    });
  if (type == "Fuse") {
    fused = true;
    return Status::ok();
  }
  if (type == "Replace") {
    step.kind = Step::Kind::Replace;
    LLMC_RETURN_IF_ERROR(readReplace(json, what, step.pattern, step.text));
  } else if (type == "ByteFallback") {
    step.kind = Step::Kind::ByteFallback;
  } else if (type == "ByteLevel") {
    step.kind = Step::Kind::ByteLevel;
    byteLevel_ = true;
  } else if (type == "Strip") {
    LLMC_ASSIGN_OR_RETURN(std::string content,
                          optionalString(json, "content", " ", what));
    if (content.empty())
      return Status::error(what + ": 'content' is empty");
    LLMC_ASSIGN_OR_RETURN(size_t start, readCount(json, "start", what));
    LLMC_ASSIGN_OR_RETURN(size_t stop, readCount(json, "stop", what));
    if (fused) {
      // After Fuse there is one token: the whole text.
      if (stop != 0)
        return Status::error(what + ": stripping the end of the fused text is "
                                    "not supported");
      leadingStrip_ = start;
      stripText_ = content;
      return Status::ok();
    }
    step.kind = Step::Kind::StripEach;
    step.text = content;
    step.count = start;
    step.countEnd = stop;
  } else if (type == "Metaspace") {
    LLMC_ASSIGN_OR_RETURN(
        std::string replacement,
        optionalString(json, "replacement", "\xE2\x96\x81", what));
    if (replacement.empty())
      return Status::error(what + ": 'replacement' is empty");
    LLMC_ASSIGN_OR_RETURN(bool addPrefixSpace,
                          optionalBool(json, "add_prefix_space", true, what));
    LLMC_ASSIGN_OR_RETURN(std::string scheme,
                          optionalString(json, "prepend_scheme",
                                         addPrefixSpace ? "always" : "never",
                                         what));
    step.kind = Step::Kind::Replace;
    step.pattern.literal = replacement;
    step.text = " ";
    if (scheme != "never") {
      leadingStrip_ = 1;
      stripText_ = " ";
    }
  } else {
    return Status::error(std::string(kWhat) + ": unsupported type '" + type +
                         "' (llmc supports Sequence, Replace, ByteFallback, "
                         "Fuse, Strip, ByteLevel, Metaspace)");
  }
  steps_.push_back(std::move(step));
  return Status::ok();
}

std::string Decoder::tokenBytes(const std::string &tokenText) const {
  std::string text = tokenText;
  for (const Step &step : steps_) {
    switch (step.kind) {
    case Step::Kind::Replace:
      text = step.pattern.replaceAll(text, step.text);
      break;
    case Step::Kind::ByteFallback:
      if (text.size() == 6 && text.compare(0, 3, "<0x") == 0 &&
          text[5] == '>' && hexValue(text[3]) >= 0 && hexValue(text[4]) >= 0)
        text = std::string(
            1, static_cast<char>(hexValue(text[3]) * 16 + hexValue(text[4])));
      break;
    case Step::Kind::ByteLevel: {
      // A token outside GPT-2's alphabet (an added token) keeps its bytes.
      std::string bytes;
      bool mapped = true;
      for (size_t pos = 0; pos < text.size() && mapped;) {
        unicode::DecodedChar c = unicode::decodeChar(text, pos);
        int byte = c.valid ? unicode::codePointToByte(c.codePoint) : -1;
        mapped = byte >= 0;
        bytes.push_back(static_cast<char>(byte));
        pos += c.length;
      }
      if (mapped)
        text = std::move(bytes);
      break;
    }
    case Step::Kind::StripEach: {
      for (size_t i = 0;
           i < step.count && text.compare(0, step.text.size(), step.text) == 0;
           ++i)
        text.erase(0, step.text.size());
      for (size_t i = 0; i < step.countEnd && text.size() >= step.text.size() &&
                         text.compare(text.size() - step.text.size(),
                                      step.text.size(), step.text) == 0;
           ++i)
        text.erase(text.size() - step.text.size());
      break;
    }
    }
  }
  return text;
}

} // namespace llmc::tokenizer
