//===- Generator.cpp - text in, streamed text out -----------------------------------===//

#include "runtime/engine/Generator.h"

#include <algorithm>
#include <chrono>

namespace llmc {

const char *stopReasonName(StopReason reason) {
  switch (reason) {
  case StopReason::Length: return "length";
  case StopReason::EndOfGeneration: return "eos";
  case StopReason::StopString: return "stop";
  case StopReason::Context: return "context";
  case StopReason::Cancelled: return "cancelled";
  }
  return "?";
}

namespace {
/// How many trailing bytes of `text` could begin one of the stop strings
/// (and so must be held back until more text arrives).
size_t heldBack(const std::string &text, const std::vector<std::string> &stops) {
  size_t hold = 0;
  for (const std::string &stop : stops)
    for (size_t n = std::min(stop.size() - 1, text.size()); n > hold; --n)
      if (text.compare(text.size() - n, n, stop, 0, n) == 0) {
        hold = n;
        break;
      }
  return hold;
}
} // namespace

Result<GenerateResult> generate(Session &session, int seq,
                                const Tokenizer *tokenizer,
                                std::vector<float> logits,
                                std::vector<int32_t> history,
                                const GenerateOptions &options,
                                const TextCallback &onText) {
  GenerateResult result;
  Sampler sampler(options.sampling);
  std::unique_ptr<StreamingDecoder> decoder;
  if (tokenizer) {
    decoder = std::make_unique<StreamingDecoder>(*tokenizer);
    // The text continues the prompt: decoding rules that apply at the start
    // of a text (SentencePiece's leading-space strip) must not apply again.
    for (int32_t token : history)
      (void)decoder->push(token);
  }
  std::vector<std::string> stops;
  for (const std::string &s : options.stopStrings)
    if (!s.empty())
      stops.push_back(s);
  std::string pending; // decoded but not yet emitted
  int64_t vocab = session.vocabSize();
  auto start = std::chrono::steady_clock::now();

  // Emits pending text except what may still become a stop string; returns
  // false when the caller cancels.
  auto emit = [&](int32_t token, bool all) -> bool {
    size_t hold = all ? 0 : heldBack(pending, stops);
    std::string piece = pending.substr(0, pending.size() - hold);
    pending.erase(0, piece.size());
    result.text += piece;
    return !onText || onText(token, piece);
  };

  for (int32_t i = 0; i < options.maxTokens; ++i) {
    int32_t next = sampler.sample(logits.data(), vocab, history);
    result.tokens.push_back(next);
    history.push_back(next);
    bool endOfGeneration = tokenizer && options.stopAtEndOfGeneration &&
                           tokenizer->isEndOfGeneration(next);
    if (endOfGeneration) {
      result.reason = StopReason::EndOfGeneration;
      break;
    }
    if (decoder) {
      pending += decoder->push(next);
      // A stop string ends generation; its text is not returned.
      size_t found = std::string::npos;
      for (const std::string &stop : stops)
        found = std::min(found, pending.find(stop));
      if (found != std::string::npos) {
        pending.resize(found);
        emit(next, true);
        result.reason = StopReason::StopString;
        break;
      }
    }
    if (!emit(next, false)) {
      result.reason = StopReason::Cancelled;
      break;
    }
    if (i + 1 == options.maxTokens)
      break;
    if (session.length(seq) >= session.contextLength()) {
      result.reason = StopReason::Context;
      break;
    }
    LLMC_RETURN_IF_ERROR(session.decode({seq}, {next}, &logits));
    ++result.decodeSteps;
    if (options.onStepLogits)
      options.onStepLogits(logits);
  }
  if (decoder && result.reason != StopReason::StopString &&
      result.reason != StopReason::Cancelled) {
    pending += decoder->flush();
    emit(result.tokens.empty() ? -1 : result.tokens.back(), true);
  }
  result.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  return result;
}

} // namespace llmc
