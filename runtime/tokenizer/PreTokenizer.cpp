//===- PreTokenizer.cpp - tokenizer.json "pre_tokenizer" ------------------===//
//
// Supported: Sequence, Split (String or Regex patterns, every behavior,
// invert), ByteLevel (add_prefix_space, use_regex), Metaspace (replacement,
// prepend_scheme or the older add_prefix_space, split), Digits, Whitespace,
// WhitespaceSplit and Punctuation, each with the semantics of Hugging Face
// `tokenizers`.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/TokenizerParts.h"

#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace llmc::tokenizer {

namespace {
const char *kWhat = "pre_tokenizer";

/// GPT-2's pattern, which ByteLevel uses when use_regex is true.
const char *kGPT2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                           "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

Result<SplitBehavior> readBehavior(const Json &json, const std::string &what) {
  LLMC_ASSIGN_OR_RETURN(std::string name,
                        optionalString(json, "behavior", "Isolated", what));
  if (name == "Removed")
    return SplitBehavior::Removed;
  if (name == "Isolated")
    return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious")
    return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext")
    return SplitBehavior::MergedWithNext;
  if (name == "Contiguous")
    return SplitBehavior::Contiguous;
  return Status::error(what + ": unknown behavior '" + name + "'");
}

Result<std::shared_ptr<const Regex>>
compileOrExplain(const std::string &pattern, const std::string &what) {
  auto regex = Regex::compile(pattern);
  if (!regex.ok())
    return Status::error(what + ": " + regex.message());
  return regex.take();
}

struct Span {
  size_t begin, end;
  bool isMatch;
};
} // namespace

void splitPiece(const Piece &piece, const Regex &regex, SplitBehavior behavior,
                bool invert, std::vector<Piece> &out) {
  const std::string &text = piece.text;
  std::vector<Span> spans;
  size_t previous = 0;
  regex.forEachMatch(text, [&](size_t begin, size_t end) {
    if (begin > previous)
      spans.push_back({previous, begin, false});
    spans.push_back({begin, end, true});
    previous = end;
  });
  if (previous < text.size())
    spans.push_back({previous, text.size(), false});
  if (invert)
    for (Span &span : spans)
      span.isMatch = !span.isMatch;

  // The behaviors of tokenizers' SplitDelimiterBehavior, span by span.
  std::vector<Span> kept;
  bool previousMatch = false;
  switch (behavior) {
  case SplitBehavior::Removed:
    for (const Span &span : spans)
      if (!span.isMatch)
        kept.push_back(span);
    break;
  case SplitBehavior::Isolated:
    kept = spans;
    break;
  case SplitBehavior::MergedWithPrevious:
    for (const Span &span : spans) {
      if (span.isMatch && !previousMatch && !kept.empty())
        kept.back().end = span.end;
      else
        kept.push_back(span);
      previousMatch = span.isMatch;
    }
    break;
  case SplitBehavior::MergedWithNext:
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
      if (it->isMatch && !previousMatch && !kept.empty())
        kept.back().begin = it->begin;
      else
        kept.push_back(*it);
      previousMatch = it->isMatch;
    }
    std::reverse(kept.begin(), kept.end());
    break;
  case SplitBehavior::Contiguous:
    for (const Span &span : spans) {
      if (span.isMatch == previousMatch && !kept.empty())
        kept.back().end = span.end;
      else
        kept.push_back(span);
      previousMatch = span.isMatch;
    }
    break;
  }
  for (const Span &span : kept)
    if (span.end > span.begin)
      out.push_back({text.substr(span.begin, span.end - span.begin),
                     piece.atStart && span.begin == 0});
}

Result<PreTokenizer> PreTokenizer::fromJson(const Json &json) {
  PreTokenizer preTokenizer;
  if (!json.is_null())
    LLMC_RETURN_IF_ERROR(preTokenizer.addStep(json));
  return preTokenizer;
}

Status PreTokenizer::addStep(const Json &json) {
  LLMC_ASSIGN_OR_RETURN(std::string type, componentType(json, kWhat));
  std::string what = std::string(kWhat) + " " + type;
  Step step{};
  if (type == "Sequence")
    return forEachInSequence(json, "pretokenizers", what,
                             [&](const Json &inner) { return addStep(inner); });
  if (type == "Split") {
    step.kind = Step::Kind::Split;
    LLMC_ASSIGN_OR_RETURN(Pattern pattern, readPattern(json, what));
    step.regex = pattern.regex;
    LLMC_ASSIGN_OR_RETURN(step.behavior, readBehavior(json, what));
    LLMC_ASSIGN_OR_RETURN(step.invert,
                          optionalBool(json, "invert", false, what));
  } else if (type == "ByteLevel") {
    step.kind = Step::Kind::ByteLevel;
    LLMC_ASSIGN_OR_RETURN(step.addPrefixSpace,
                          optionalBool(json, "add_prefix_space", true, what));
    LLMC_ASSIGN_OR_RETURN(bool useRegex,
                          optionalBool(json, "use_regex", true, what));
    if (useRegex) {
      LLMC_ASSIGN_OR_RETURN(step.regex, compileOrExplain(kGPT2Pattern, what));
    }
    byteLevel_ = true;
  } else if (type == "Metaspace") {
    step.kind = Step::Kind::Metaspace;
    LLMC_ASSIGN_OR_RETURN(
        step.replacement,
        optionalString(json, "replacement", "\xE2\x96\x81", what));
    if (step.replacement.empty())
      return Status::error(what + ": 'replacement' is empty");
    LLMC_ASSIGN_OR_RETURN(bool addPrefixSpace,
                          optionalBool(json, "add_prefix_space", true, what));
    LLMC_ASSIGN_OR_RETURN(std::string scheme,
                          optionalString(json, "prepend_scheme",
                                         addPrefixSpace ? "always" : "never",
                                         what));
    if (scheme == "always")
      step.prepend = Step::Prepend::Always;
    else if (scheme == "first")
      step.prepend = Step::Prepend::First;
    else if (scheme == "never")
      step.prepend = Step::Prepend::Never;
    else
      return Status::error(what + ": unknown prepend_scheme '" + scheme + "'");
    LLMC_ASSIGN_OR_RETURN(step.split, optionalBool(json, "split", true, what));
    if (step.split) {
      LLMC_ASSIGN_OR_RETURN(
          step.regex, compileOrExplain(Regex::quote(step.replacement), what));
    }
  } else if (type == "Digits") {
    step.kind = Step::Kind::Split;
    LLMC_ASSIGN_OR_RETURN(bool individual,
                          optionalBool(json, "individual_digits", false, what));
    LLMC_ASSIGN_OR_RETURN(
        step.regex, compileOrExplain(individual ? "\\p{N}" : "\\p{N}+", what));
  } else if (type == "Whitespace") {
    step.kind = Step::Kind::Split;
    step.behavior = SplitBehavior::Removed;
    step.invert = true;
    LLMC_ASSIGN_OR_RETURN(step.regex,
                          compileOrExplain("\\w+|[^\\w\\s]+", what));
  } else if (type == "WhitespaceSplit") {
    step.kind = Step::Kind::Split;
    step.behavior = SplitBehavior::Removed;
    LLMC_ASSIGN_OR_RETURN(step.regex, compileOrExplain("\\s+", what));
  } else if (type == "Punctuation") {
    step.kind = Step::Kind::Split;
    LLMC_ASSIGN_OR_RETURN(step.behavior, readBehavior(json, what));
    LLMC_ASSIGN_OR_RETURN(step.regex,
                          compileOrExplain("[\\p{P}!-/:-@\\[-`{-~]", what));
  } else {
    return Status::error(
        std::string(kWhat) + ": unsupported type '" + type +
        "' (llmc supports Sequence, Split, ByteLevel, Metaspace, Digits, "
        "Whitespace, WhitespaceSplit, Punctuation)");
  }
  steps_.push_back(std::move(step));
  return Status::ok();
}

void PreTokenizer::applyStep(const Step &step,
                             std::vector<Piece> &pieces) const {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece &piece : pieces) {
    switch (step.kind) {
    case Step::Kind::Split:
      splitPiece(piece, *step.regex, step.behavior, step.invert, out);
      break;
    case Step::Kind::ByteLevel: {
      if (step.addPrefixSpace && piece.text.compare(0, 1, " ") != 0)
        piece.text.insert(0, " ");
      std::vector<Piece> words;
      if (step.regex)
        splitPiece(piece, *step.regex, SplitBehavior::Isolated, false, words);
      else
        words.push_back(std::move(piece));
      for (Piece &word : words) {
        std::string mapped;
        mapped.reserve(word.text.size() * 2);
        for (unsigned char byte : word.text)
          unicode::appendUtf8(mapped, unicode::byteToCodePoint(byte));
        out.push_back({std::move(mapped), word.atStart});
      }
      break;
    }
    case Step::Kind::Metaspace: {
      Pattern space{std::string(" "), nullptr};
      std::string text = space.replaceAll(piece.text, step.replacement);
      bool prepend = step.prepend == Step::Prepend::Always ||
                     (step.prepend == Step::Prepend::First && piece.atStart);
      if (prepend &&
          text.compare(0, step.replacement.size(), step.replacement) != 0)
        text.insert(0, step.replacement);
      Piece replaced{std::move(text), piece.atStart};
      if (step.split)
        splitPiece(replaced, *step.regex, SplitBehavior::MergedWithNext, false,
                   out);
      else if (!replaced.text.empty())
        out.push_back(std::move(replaced));
      break;
    }
    }
  }
  pieces = std::move(out);
}

void PreTokenizer::apply(std::vector<Piece> &pieces) const {
  for (const Step &step : steps_)
    applyStep(step, pieces);
}

} // namespace llmc::tokenizer
