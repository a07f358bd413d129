//===- Generator.h - text in, streamed text out -------------------------------------===//
//
// The loop every front end shares (`llmc run`, `llmc chat`, the C API): sample
// a token from the last logits, stream its text (only whole UTF-8 characters,
// and never text that may turn out to be the start of a stop string), decode
// it, until EOS, a stop string, the token limit, the context limit or the
// caller's cancellation.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ENGINE_GENERATOR_H
#define LLMC_RUNTIME_ENGINE_GENERATOR_H

#include "runtime/engine/Session.h"
#include "runtime/sampler/Sampler.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <functional>
#include <string>
#include <vector>

namespace llmc {

struct GenerateOptions {
  int32_t maxTokens = 128;
  SamplerOptions sampling;
  std::vector<std::string> stopStrings;
  bool stopAtEndOfGeneration = true; // EOS and end-of-turn tokens
  /// Called with the logits [vocab] of each decode step, in order (for
  /// `llmc run --dump-logits`); the prefill's logits are the caller's.
  std::function<void(const std::vector<float> &)> onStepLogits;
};

enum class StopReason { Length, EndOfGeneration, StopString, Context, Cancelled };
const char *stopReasonName(StopReason reason);

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, the stopping token included
  std::string text;             // streamed text (stop string excluded)
  StopReason reason = StopReason::Length;
  double seconds = 0;           // decode time (excludes the caller's prefill)
  int decodeSteps = 0;
};

/// Called with each piece of text that is final; return false to cancel.
using TextCallback = std::function<bool(int32_t token, const std::string &piece)>;

/// Generates after `seq` was prefilled; `logits` holds its last logits and
/// `history` its tokens so far (for repetition penalties). The tokenizer may
/// be null (ids only: no text, no stop strings, no EOS).
Result<GenerateResult> generate(Session &session, int seq,
                                const Tokenizer *tokenizer,
                                std::vector<float> logits,
                                std::vector<int32_t> history,
                                const GenerateOptions &options,
                                const TextCallback &onText);

} // namespace llmc

#endif // LLMC_RUNTIME_ENGINE_GENERATOR_H
