//===- Sampler.h - choosing the next token from logits ------------------------------===//
//
// Greedy when temperature is 0; otherwise repetition penalty, temperature,
// then top-k, top-p (nucleus) and min-p filters, then a draw from a seeded
// generator (same seed, same output). Order and semantics follow common
// practice (llama.cpp's default chain): penalties, top-k, top-p, min-p,
// temperature-scaled softmax, draw.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SAMPLER_SAMPLER_H
#define LLMC_RUNTIME_SAMPLER_SAMPLER_H

#include <cstdint>
#include <random>
#include <vector>

namespace llmc {

struct SamplerOptions {
  float temperature = 0.0f;    // 0: greedy
  int32_t topK = 0;            // 0: off
  float topP = 1.0f;           // 1: off
  float minP = 0.0f;           // 0: off
  float repeatPenalty = 1.0f;  // 1: off
  int32_t repeatLastN = 64;    // tokens the penalty looks back over
  uint64_t seed = 0;
};

class Sampler {
public:
  explicit Sampler(const SamplerOptions &options = {});
  /// The next token for `logits` (vocab entries), given the tokens so far.
  int32_t sample(const float *logits, int64_t vocab,
                 const std::vector<int32_t> &history);
  /// The filtered, normalized candidate distribution (for tests).
  std::vector<std::pair<int32_t, float>>
  distribution(const float *logits, int64_t vocab,
               const std::vector<int32_t> &history) const;
  const SamplerOptions &options() const { return options_; }

private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
};

/// The index of the largest logit (the lowest index among equals).
int32_t argmax(const float *logits, int64_t vocab);

} // namespace llmc

#endif // LLMC_RUNTIME_SAMPLER_SAMPLER_H
