#include <gtest/gtest.h>

#include "lti/model/moe.h"
#include "model_fixtures.h"

using namespace lti;

TEST(MoE, OutputShapeAndPaddingPassesThrough) {
  torch::manual_seed(1);
  MoE moe(test::tiny_config());
  moe->eval();
  const auto x = torch::randn({3, 5, 16});
  auto valid = torch::ones({3, 5}, torch::kBool);
  valid.index_put_({0, torch::indexing::Slice(0, 2)}, false);
  const auto y = moe(x, valid);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(y[0].slice(0, 0, 2), x[0].slice(0, 0, 2)));  // padding untouched
  EXPECT_FALSE(torch::allclose(y[1], x[1]));
}

TEST(MoE, GatesOfTheChosenExpertsSumToOne) {
  torch::manual_seed(2);
  MoE moe(test::tiny_config());
  const Routing r = moe->route(torch::randn({40, 16}));
  EXPECT_EQ(r.experts.sizes(), (std::vector<int64_t>{40, 2}));
  EXPECT_TRUE(torch::allclose(r.gates.sum(-1), torch::ones({40}), 1e-6, 1e-6));
}

TEST(MoE, LoadPenaltyChangesTheChoiceButNotTheGateValues) {
  torch::manual_seed(3);
  ModelConfig c = test::tiny_config();
  c.moe_balance = "divide";
  MoE moe(c);
  torch::NoGradGuard no_grad;
  const auto tokens = torch::randn({64, 16});
  const auto affinity = torch::sigmoid(moe->gate(tokens));
  const Routing before = moe->route(tokens);
  // The gate values are the chosen affinities normalised over the chosen experts.
  auto expected = affinity.gather(-1, before.experts);
  EXPECT_TRUE(torch::allclose(before.gates, expected / expected.sum(-1, true)));

  // Make the most chosen expert look ten times overloaded.
  const int64_t busy =
      torch::bincount(before.experts.reshape({-1}), {}, 6).argmax().item<int64_t>();
  moe->load[busy] = 10.0;
  const Routing after = moe->route(tokens);
  EXPECT_LT((after.experts == busy).sum().item<int64_t>(),
            (before.experts == busy).sum().item<int64_t>());
  expected = affinity.gather(-1, after.experts);
  EXPECT_TRUE(torch::allclose(after.gates, expected / expected.sum(-1, true)));
  // Tokens that keep the same experts keep exactly the same gate values.
  int64_t unchanged = 0;
  for (int64_t t = 0; t < 64; ++t) {
    auto a = std::get<0>(before.experts[t].sort()), b = std::get<0>(after.experts[t].sort());
    if (!torch::equal(a, b)) continue;
    ++unchanged;
    EXPECT_NEAR(before.gates[t].sum().item<double>(), 1.0, 1e-6);
    EXPECT_TRUE(
        torch::allclose(std::get<0>(before.gates[t].sort()), std::get<0>(after.gates[t].sort())));
  }
  EXPECT_GT(unchanged, 0);
}

TEST(MoE, BiasChangesTheChoiceButNotTheGateValuesAndTheLoadIsIgnored) {
  torch::manual_seed(3);
  MoE moe(test::tiny_config());  // "bias" is the default
  torch::NoGradGuard no_grad;
  const auto tokens = torch::randn({64, 16});
  const auto affinity = torch::sigmoid(moe->gate(tokens));
  const Routing before = moe->route(tokens);
  moe->load.fill_(7.0);  // a record of past shares, not a routing input here
  EXPECT_TRUE(torch::equal(before.experts, moe->route(tokens).experts));
  const int64_t busy =
      torch::bincount(before.experts.reshape({-1}), {}, 6).argmax().item<int64_t>();
  moe->bias[busy] = -0.5;
  const Routing after = moe->route(tokens);
  EXPECT_LT((after.experts == busy).sum().item<int64_t>(),
            (before.experts == busy).sum().item<int64_t>());
  // The chosen experts are the top-k of affinity + bias...
  const auto expected_choice = std::get<1>((affinity + moe->bias).topk(2, -1));
  EXPECT_TRUE(
      torch::equal(std::get<0>(after.experts.sort(-1)), std::get<0>(expected_choice.sort(-1))));
  // ...and their gates the raw affinities, normalised.
  const auto chosen = affinity.gather(-1, after.experts);
  EXPECT_TRUE(torch::allclose(after.gates, chosen / chosen.sum(-1, true)));
}

namespace {

// Routes `steps` batches of 512 tokens through `moe` in training mode, with a gate that
// prefers expert 0 for every token, calling update_bias() after each (as training does after
// each optimiser step); returns the usage of the last `measured` steps.
ExpertUsage route_skewed_tokens(MoE& moe, int steps, int measured) {
  torch::NoGradGuard no_grad;
  moe->train();
  moe->gate->weight[0].zero_();
  moe->gate->weight[0][0] = 2.0;  // token feature 0 is shifted by +3 below: affinity ~ 1
  for (int step = 0; step < steps; ++step) {
    if (step == steps - measured) moe->begin_epoch();
    auto x = torch::randn({1, 512, 16});
    x.select(2, 0).add_(3.0);
    moe(x, torch::ones({1, 512}, torch::kBool));
    moe->update_bias();
  }
  return moe->end_epoch();
}

}  // namespace

TEST(MoE, BiasRuleBalancesASkewedGate) {
  torch::manual_seed(5);
  ModelConfig c = test::tiny_config();
  c.moe_experts = 8;
  {
    ModelConfig unbalanced = c;
    unbalanced.moe_balance = "none";
    MoE control(unbalanced);
    const ExpertUsage u = route_skewed_tokens(control, 50, 10);
    EXPECT_GT(u.share[0], 3.5) << "the skewed gate should send nearly every token to expert 0";
  }
  MoE moe(c);
  const ExpertUsage early = route_skewed_tokens(moe, 1, 1);
  EXPECT_GT(early.share[0], 3.5);
  const ExpertUsage u = route_skewed_tokens(moe, 300, 50);
  EXPECT_LE(u.cv, 0.25) << u.summary();
  EXPECT_GE(u.min, 0.3) << u.summary();
  EXPECT_LT(moe->bias[0].item<double>(), -0.1);             // expert 0 pays for its head start
  EXPECT_NEAR(moe->bias.mean().item<double>(), 0.0, 1e-6);  // re-centred
  // The usage of the epoch is stored in `load` as a record.
  EXPECT_TRUE(
      torch::allclose(moe->load, torch::tensor(u.share, torch::kFloat64).to(torch::kFloat32)));
}

TEST(MoE, CalibrationBalancesASkewedGateBeforeAnyStep) {
  torch::manual_seed(6);
  ModelConfig c = test::tiny_config();
  c.moe_experts = 8;
  MoE moe(c);
  torch::NoGradGuard no_grad;
  moe->gate->weight[0].zero_();
  moe->gate->weight[0][0] = 2.0;  // as route_skewed_tokens: expert 0 wins every token
  auto skewed_tokens = [] {
    auto x = torch::randn({1, 512, 16});
    x.select(2, 0).add_(3.0);
    return x;
  };
  const auto all = torch::ones({1, 512}, torch::kBool);
  const auto calibrated = moe->calibrate_bias(skewed_tokens(), all);
  ASSERT_TRUE(calibrated.has_value());
  EXPECT_LE(calibrated->cv, 0.25) << calibrated->summary();
  EXPECT_LT(moe->bias[0].item<double>(), -0.1);
  EXPECT_NEAR(moe->bias.mean().item<double>(), 0.0, 1e-6);
  // The bias holds for other tokens of the same kind, with no step taken.
  moe->train();
  moe->begin_epoch();
  moe(skewed_tokens(), all);
  const ExpertUsage u = moe->end_epoch();
  EXPECT_LE(u.cv, 0.25) << u.summary();
  EXPECT_GE(u.min, 0.3) << u.summary();
  // The other rules have no bias to set.
  for (const char* rule : {"divide", "none"}) {
    ModelConfig other = c;
    other.moe_balance = rule;
    MoE unbiased(other);
    EXPECT_FALSE(unbiased->calibrate_bias(skewed_tokens(), all).has_value()) << rule;
    EXPECT_TRUE(torch::equal(unbiased->bias, torch::zeros({8}))) << rule;
  }
}

TEST(MoE, BiasIsOnlyUpdatedByTheBiasRule) {
  for (const char* rule : {"divide", "none"}) {
    ModelConfig c = test::tiny_config();
    c.moe_balance = rule;
    MoE moe(c);
    route_skewed_tokens(moe, 20, 5);
    EXPECT_TRUE(torch::equal(moe->bias, torch::zeros({6}))) << rule;
  }
}

TEST(MoE, BalanceNoneIgnoresTheLoad) {
  torch::manual_seed(3);
  ModelConfig c = test::tiny_config();
  c.moe_balance = "none";
  MoE moe(c);
  torch::NoGradGuard no_grad;
  const auto tokens = torch::randn({32, 16});
  const Routing before = moe->route(tokens);
  moe->load.fill_(5.0);
  moe->load[0] = 0.2;
  EXPECT_TRUE(torch::equal(before.experts, moe->route(tokens).experts));
  moe->bias[0] = 5.0;
  EXPECT_TRUE(torch::equal(before.experts, moe->route(tokens).experts));
}

TEST(MoE, CountsIgnorePaddingCountOnlyInTrainingAndResetPerEpoch) {
  torch::manual_seed(4);
  ModelConfig c = test::tiny_config();
  c.moe_balance = "divide";
  MoE moe(c);
  moe->begin_epoch();
  auto valid = torch::zeros({2, 10}, torch::kBool);
  valid.index_put_({0, torch::indexing::Slice(4, 10)}, true);  // 6 tokens
  valid.index_put_({1, torch::indexing::Slice(7, 10)}, true);  // 3 tokens
  moe->train();
  moe(torch::randn({2, 10, 16}), valid);
  auto counts = moe->activation_counts();
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), int64_t{0}), 9 * 2);
  moe->eval();
  moe(torch::randn({2, 10, 16}), valid);
  counts = moe->activation_counts();
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), int64_t{0}), 9 * 2);
  const ExpertUsage usage = moe->end_epoch();
  EXPECT_NEAR(std::accumulate(usage.share.begin(), usage.share.end(), 0.0), 6.0, 1e-9);
  // end_epoch does not change the load in force; begin_epoch does, and resets the counts.
  EXPECT_TRUE(torch::allclose(moe->load, torch::ones({6})));
  moe->begin_epoch();
  counts = moe->activation_counts();
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), int64_t{0}), 0);
  EXPECT_TRUE(
      torch::allclose(moe->load, torch::tensor(usage.share, torch::kFloat64).to(torch::kFloat32)));
}

TEST(ExpertUsage, StatisticsOfCounts) {
  const ExpertUsage u = ExpertUsage::from_counts({10, 30, 0, 40});
  EXPECT_DOUBLE_EQ(u.share[0], 0.5);
  EXPECT_DOUBLE_EQ(u.share[3], 2.0);
  EXPECT_EQ(u.most_used, 3);
  EXPECT_EQ(u.least_used, 2);
  EXPECT_DOUBLE_EQ(u.min, 0.0);
  EXPECT_NEAR(u.cv, std::sqrt((0.25 + 0.25 + 1 + 1) / 4), 1e-12);
  const ExpertUsage even = ExpertUsage::from_counts({5, 5, 5, 5});
  EXPECT_NEAR(even.entropy_ratio, 1.0, 1e-12);
  EXPECT_NEAR(even.cv, 0.0, 1e-12);
}
