// The sampler: greedy, temperature, top-k, top-p, min-p, repetition penalty,
// seeds (same seed, same output) and the distributions on fixed logits.
#include "runtime/sampler/Sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

using namespace llmc;

namespace {
std::vector<float> logitsOf(std::initializer_list<float> values) {
  return std::vector<float>(values);
}
} // namespace

TEST(Sampler, GreedyTakesTheLargestLogitAndTheLowestIndexOnTies) {
  Sampler greedy;
  auto l = logitsOf({0.5f, 3.0f, 3.0f, -1.0f});
  EXPECT_EQ(greedy.sample(l.data(), 4, {}), 1);
  EXPECT_EQ(argmax(l.data(), 4), 1);
}

TEST(Sampler, TemperatureOneIsTheSoftmax) {
  SamplerOptions o;
  o.temperature = 1.0f;
  auto l = logitsOf({0.0f, std::log(3.0f)});
  auto d = Sampler(o).distribution(l.data(), 2, {});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].first, 1);
  EXPECT_NEAR(d[0].second, 0.75f, 1e-6);
  EXPECT_NEAR(d[1].second, 0.25f, 1e-6);
}

TEST(Sampler, LowTemperatureSharpens) {
  SamplerOptions o;
  o.temperature = 0.5f;
  auto l = logitsOf({0.0f, std::log(3.0f)});
  auto d = Sampler(o).distribution(l.data(), 2, {});
  EXPECT_NEAR(d[0].second, 0.9f, 1e-6); // 9:1 after squaring the odds
}

TEST(Sampler, TopKKeepsTheKLargest) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.topK = 2;
  auto l = logitsOf({1.0f, 4.0f, 3.0f, 2.0f});
  auto d = Sampler(o).distribution(l.data(), 4, {});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].first, 1);
  EXPECT_EQ(d[1].first, 2);
  EXPECT_NEAR(d[0].second + d[1].second, 1.0f, 1e-6);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.topP = 0.7f;
  // Probabilities 0.5, 0.3, 0.2: 0.5 < 0.7 <= 0.8 keeps two.
  auto l = logitsOf({std::log(0.5f), std::log(0.3f), std::log(0.2f)});
  auto d = Sampler(o).distribution(l.data(), 3, {});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NEAR(d[0].second, 0.625f, 1e-5);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.minP = 0.5f;
  auto l = logitsOf({std::log(0.5f), std::log(0.3f), std::log(0.2f)});
  auto d = Sampler(o).distribution(l.data(), 3, {});
  ASSERT_EQ(d.size(), 2u); // 0.2 < 0.5 * 0.5
}

TEST(Sampler, RepetitionPenaltyLowersRecentTokens) {
  SamplerOptions o;
  o.repeatPenalty = 2.0f;
  auto l = logitsOf({2.0f, 1.5f, -1.0f});
  // Token 0 was just generated: 2.0 / 2 = 1.0 < 1.5, so greedy moves to 1.
  EXPECT_EQ(Sampler(o).sample(l.data(), 3, {0}), 1);
  // A negative logit is multiplied, so it also goes down.
  o.temperature = 1.0f;
  auto d = Sampler(o).distribution(l.data(), 3, {2});
  float p2 = 0;
  for (auto &[t, p] : d)
    if (t == 2)
      p2 = p;
  auto base = Sampler(SamplerOptions{1.0f}).distribution(l.data(), 3, {});
  float b2 = 0;
  for (auto &[t, p] : base)
    if (t == 2)
      b2 = p;
  EXPECT_LT(p2, b2);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.seed = 42;
  std::vector<float> l(50);
  for (size_t i = 0; i < l.size(); ++i)
    l[i] = static_cast<float>(i % 7) * 0.3f;
  Sampler a(o), b(o);
  o.seed = 43;
  Sampler c(o);
  std::vector<int32_t> sa, sb, sc;
  for (int i = 0; i < 64; ++i) {
    sa.push_back(a.sample(l.data(), 50, {}));
    sb.push_back(b.sample(l.data(), 50, {}));
    sc.push_back(c.sample(l.data(), 50, {}));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.seed = 7;
  auto l = logitsOf({0.0f, std::log(3.0f)});
  Sampler s(o);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    ++counts[s.sample(l.data(), 2, {})];
  // 3:1 odds: 15000 expected, standard deviation ~61; allow 5 sigma.
  EXPECT_NEAR(counts[1], 15000, 310);
}
