//===- Normalizer.cpp - tokenizer.json "normalizer" -----------------------===//
//
// Supported: Sequence, Prepend, Replace, Strip, and NFC (accepted and not
// applied, as llama.cpp does not apply it either: text that is already NFC,
// which is nearly all text, tokenizes the same).
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/TokenizerParts.h"

#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

namespace llmc::tokenizer {

namespace {
const char *kWhat = "normalizer";

/// Byte length of the leading (or trailing) Unicode whitespace of `text`.
size_t leadingWhitespace(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    unicode::DecodedChar c = unicode::decodeChar(text, pos);
    if (!c.valid || !unicode::isWhitespace(c.codePoint))
      break;
    pos += c.length;
  }
  return pos;
}

size_t trailingWhitespaceStart(std::string_view text) {
  size_t keep = 0; // end of the last non-whitespace character
  for (size_t pos = 0; pos < text.size();) {
    unicode::DecodedChar c = unicode::decodeChar(text, pos);
    pos += c.length;
    if (!c.valid || !unicode::isWhitespace(c.codePoint))
      keep = pos;
  }
  return keep;
}
} // namespace

Result<Normalizer> Normalizer::fromJson(const Json &json) {
  Normalizer normalizer;
  if (!json.is_null())
    LLMC_RETURN_IF_ERROR(normalizer.addStep(json));
  return normalizer;
}

Status Normalizer::addStep(const Json &json) {
  LLMC_ASSIGN_OR_RETURN(std::string type, componentType(json, kWhat));
  std::string what = std::string(kWhat) + " " + type;
  if (type == "Sequence")
    return forEachInSequence(json, "normalizers", what,
                             [&](const Json &inner) { return addStep(inner); });
  if (type == "NFC")
    return Status::ok();
  Step step{Step::Kind::Prepend, "", {}, false, false};
  if (type == "Prepend") {
    LLMC_ASSIGN_OR_RETURN(step.text, optionalString(json, "prepend", "", what));
  } else if (type == "Replace") {
    step.kind = Step::Kind::Replace;
    LLMC_RETURN_IF_ERROR(readReplace(json, what, step.pattern, step.text));
  } else if (type == "Strip") {
    step.kind = Step::Kind::Strip;
    LLMC_ASSIGN_OR_RETURN(step.left,
                          optionalBool(json, "strip_left", true, what));
    LLMC_ASSIGN_OR_RETURN(step.right,
                          optionalBool(json, "strip_right", true, what));
  } else {
    return Status::error(
        std::string(kWhat) + ": unsupported type '" + type +
        "' (llmc supports Sequence, Prepend, Replace, Strip, NFC)");
  }
  steps_.push_back(std::move(step));
  return Status::ok();
}

std::string Normalizer::apply(std::string text) const {
  for (const Step &step : steps_) {
    switch (step.kind) {
    case Step::Kind::Prepend:
      if (!text.empty())
        text.insert(0, step.text);
      break;
    case Step::Kind::Replace:
      text = step.pattern.replaceAll(text, step.text);
      break;
    case Step::Kind::Strip: {
      size_t end = step.right ? trailingWhitespaceStart(text) : text.size();
      size_t begin = step.left ? std::min(leadingWhitespace(text), end) : 0;
      text = text.substr(begin, end - begin);
      break;
    }
    }
  }
  return text;
}

} // namespace llmc::tokenizer
