//===- Sampler.cpp - choosing the next token from logits ----------------------------===//

#include "runtime/sampler/Sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace llmc {

int32_t argmax(const float *logits, int64_t vocab) {
  int32_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best])
      best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(const SamplerOptions &options)
    : options_(options), rng_(options.seed) {}

std::vector<std::pair<int32_t, float>>
Sampler::distribution(const float *logits, int64_t vocab,
                      const std::vector<int32_t> &history) const {
  std::vector<std::pair<int32_t, float>> candidates(vocab);
  for (int64_t i = 0; i < vocab; ++i)
    candidates[i] = {static_cast<int32_t>(i), logits[i]};

  // Repetition penalty on the recent tokens (divide positive, multiply
  // negative logits, so the penalty always lowers the score).
  if (options_.repeatPenalty != 1.0f && !history.empty()) {
    size_t from = history.size() > static_cast<size_t>(options_.repeatLastN)
                      ? history.size() - options_.repeatLastN
                      : 0;
    std::unordered_set<int32_t> recent(history.begin() + from, history.end());
    for (int32_t t : recent)
      if (t >= 0 && t < vocab) {
        float &l = candidates[t].second;
        l = l > 0 ? l / options_.repeatPenalty : l * options_.repeatPenalty;
      }
  }
  std::sort(candidates.begin(), candidates.end(),
            [](auto &a, auto &b) { return a.second > b.second ||
                                          (a.second == b.second && a.first < b.first); });
  if (options_.topK > 0 && options_.topK < vocab)
    candidates.resize(options_.topK);

  // Softmax at the temperature.
  float temperature = std::max(options_.temperature, 1e-6f);
  float max = candidates.front().second;
  double sum = 0;
  for (auto &c : candidates) {
    c.second = std::exp((c.second - max) / temperature);
    sum += c.second;
  }
  for (auto &c : candidates)
    c.second = static_cast<float>(c.second / sum);

  if (options_.topP < 1.0f) {
    double cumulative = 0;
    size_t keep = 0;
    while (keep < candidates.size()) {
      cumulative += candidates[keep++].second;
      if (cumulative >= options_.topP)
        break;
    }
    candidates.resize(std::max<size_t>(1, keep));
  }
  if (options_.minP > 0.0f) {
    float threshold = candidates.front().second * options_.minP;
    size_t keep = 1;
    while (keep < candidates.size() && candidates[keep].second >= threshold)
      ++keep;
    candidates.resize(keep);
  }
  double total = 0;
  for (auto &c : candidates)
    total += c.second;
  for (auto &c : candidates)
    c.second = static_cast<float>(c.second / total);
  return candidates;
}

int32_t Sampler::sample(const float *logits, int64_t vocab,
                        const std::vector<int32_t> &history) {
  if (options_.temperature <= 0.0f) {
    if (options_.repeatPenalty == 1.0f)
      return argmax(logits, vocab);
    SamplerOptions greedy = options_;
    greedy.temperature = 1e-6f;
    greedy.topK = 1;
    return Sampler(greedy).distribution(logits, vocab, history).front().first;
  }
  auto candidates = distribution(logits, vocab, history);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double r = uniform(rng_), cumulative = 0;
  for (auto &c : candidates) {
    cumulative += c.second;
    if (r < cumulative)
      return c.first;
  }
  return candidates.back().first;
}

} // namespace llmc
