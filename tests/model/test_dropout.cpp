#include <gtest/gtest.h>

#include "lti/model/dropout.h"

using namespace lti;

TEST(Dropout, ZeroesAShareOfPAndScalesTheRest) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    Dropout drop(0.1);
    drop->train();
    torch::manual_seed(5);
    const auto x = torch::ones({1000, 1000}, dtype);
    const auto y = drop(x).to(torch::kFloat);
    const double zeroed = y.eq(0).to(torch::kDouble).mean().item<double>();
    // 1e6 draws: the standard deviation of the share is 3e-4.
    EXPECT_NEAR(zeroed, 0.1, 2e-3);
    const auto kept = y.masked_select(y.ne(0));
    const double scale = static_cast<double>(static_cast<float>(
        dtype == torch::kFloat ? 1 / 0.9f : static_cast<float>(c10::BFloat16(1 / 0.9f))));
    EXPECT_EQ(kept.min().item<double>(), scale);
    EXPECT_EQ(kept.max().item<double>(), scale);
    // No pattern along rows or columns: every row and column loses about a tenth.
    const auto per_row = y.eq(0).to(torch::kDouble).mean(1);
    const auto per_column = y.eq(0).to(torch::kDouble).mean(0);
    EXPECT_LT((per_row - 0.1).abs().max().item<double>(), 0.05);
    EXPECT_LT((per_column - 0.1).abs().max().item<double>(), 0.05);
  }
}

TEST(Dropout, MasksFollowTheSeedAndDifferBetweenCalls) {
  Dropout drop(0.3);
  drop->train();
  const auto x = torch::randn({64, 33});
  torch::manual_seed(9);
  const auto a = drop(x), b = drop(x);
  torch::manual_seed(9);
  const auto again = drop(x);
  EXPECT_TRUE(torch::equal(a, again));
  EXPECT_FALSE(torch::equal(a.eq(0), b.eq(0)));
}

TEST(Dropout, TheGradientPassesThroughTheKeptElementsOnly) {
  Dropout drop(0.5);
  drop->train();
  torch::manual_seed(2);
  const auto x = torch::randn({40, 40}).requires_grad_();
  const auto y = drop(x);
  y.sum().backward();
  const auto kept = y.ne(0);
  EXPECT_TRUE(torch::equal(x.grad(), kept.to(torch::kFloat) * 2.0));
  EXPECT_TRUE(torch::allclose(y, x.detach() * kept * 2.0));
}

TEST(Dropout, IsTheIdentityInEvaluation) {
  Dropout drop(0.5);
  drop->eval();
  const auto x = torch::randn({10, 10});
  EXPECT_TRUE(torch::equal(drop(x), x));
  Dropout none(0.0);
  none->train();
  EXPECT_TRUE(torch::equal(none(x), x));
  EXPECT_THROW(Dropout(1.0), c10::Error);
}
