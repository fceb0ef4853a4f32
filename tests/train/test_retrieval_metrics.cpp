#include <gtest/gtest.h>

#include <cmath>

#include "lti/train/evaluation.h"
#include "lti/train/retrieval_metrics.h"

using namespace lti;

namespace {
// n users: the first `hits` rank first, the rest rank 20 (outside the top 10).
std::vector<size_t> ranks_with_hits(size_t n, size_t hits) {
  std::vector<size_t> r(n, 20);
  for (size_t i = 0; i < hits; ++i) r[i] = 1;
  return r;
}
}  // namespace

TEST(RetrievalMetrics, StandardErrorsAreThoseOfAMeanOverUsers) {
  // Recall@10 of {1, 1, 20, 20} is 0.5 with sample variance 1/3: se sqrt(1/3 / 4).
  const RetrievalMetrics m = metrics_from_ranks({1, 1, 20, 20});
  EXPECT_DOUBLE_EQ(m.recall_at_10, 0.5);
  EXPECT_NEAR(m.recall_at_10_se, std::sqrt(1.0 / 12), 1e-12);
  // Reciprocal ranks 1, 1, 0.05, 0.05: mean 0.525, deviations +-0.475.
  EXPECT_NEAR(m.mrr, 0.525, 1e-12);
  EXPECT_NEAR(m.mrr_se, std::sqrt(4 * 0.475 * 0.475 / 3 / 4), 1e-12);
  // Everyone alike: nothing to be unsure of. One user: no spread to measure.
  EXPECT_EQ(metrics_from_ranks({3, 3, 3}).mrr_se, 0.0);
  EXPECT_EQ(metrics_from_ranks({1}).recall_at_10_se, 0.0);
  EXPECT_EQ(chance_metrics(50).mrr_se, 0.0);
  EXPECT_DOUBLE_EQ(metrics_from_ranks({1, 1, 20, 20}).to_json().at("recall@10_se").get<double>(),
                   m.recall_at_10_se);
}

TEST(RetrievalMetrics, PairedRatiosHoldTheRatioAndNarrowWithMoreUsers) {
  // The model finds 80% at Recall@10, the baseline 40%: 2x, whatever the number of users.
  const PairedRatios few = paired_ratios(ranks_with_hits(40, 32), ranks_with_hits(40, 16));
  const PairedRatios many = paired_ratios(ranks_with_hits(400, 320), ranks_with_hits(400, 160));
  for (const PairedRatios* p : {&few, &many}) {
    EXPECT_DOUBLE_EQ(p->recall_at_10.ratio, 2.0);
    EXPECT_LT(p->recall_at_10.low, 2.0);
    EXPECT_GT(p->recall_at_10.high, 2.0);
    EXPECT_LE(p->mrr.low, p->mrr.ratio);
    EXPECT_GE(p->mrr.high, p->mrr.ratio);
    EXPECT_EQ(p->resamples, 2000u);
  }
  EXPECT_EQ(few.users, 40u);
  EXPECT_GT(few.recall_at_10.high - few.recall_at_10.low,
            2 * (many.recall_at_10.high - many.recall_at_10.low));
  // At 40 users the baseline's 16 hits could be 10 or 22: the interval must reach below 1.6.
  EXPECT_LT(few.recall_at_10.low, 1.6);
  // The same ranks give the same interval (a fixed seed); another seed another draw.
  const PairedRatios again = paired_ratios(ranks_with_hits(40, 32), ranks_with_hits(40, 16));
  EXPECT_EQ(again.recall_at_10.low, few.recall_at_10.low);
  EXPECT_EQ(again.mrr.high, few.mrr.high);
}

TEST(RetrievalMetrics, PairedRatiosOfAlikeRankersHaveNoSpread) {
  // Both rankers put every user at the same rank: each resample scores them equally, so the
  // pairing leaves nothing to be unsure of, however few the users.
  const std::vector<size_t> ranks = {1, 4, 30, 2, 11, 7};
  const PairedRatios p = paired_ratios(ranks, ranks);
  EXPECT_DOUBLE_EQ(p.recall_at_10.low, 1.0);
  EXPECT_DOUBLE_EQ(p.recall_at_10.high, 1.0);
  EXPECT_DOUBLE_EQ(p.mrr.low, 1.0);
  EXPECT_DOUBLE_EQ(p.mrr.high, 1.0);
  // A baseline with no hit at all: the ratio is infinite, and JSON says null.
  const PairedRatios over_nothing = paired_ratios({1, 1}, {20, 20});
  EXPECT_TRUE(std::isinf(over_nothing.recall_at_10.ratio));
  EXPECT_TRUE(over_nothing.to_json().at("recall@10").at("ratio").is_null());
  EXPECT_THROW(paired_ratios({1, 2}, {1}), std::invalid_argument);
  EXPECT_EQ(paired_ratios({}, {}).resamples, 0u);
}

TEST(RetrievalMetrics, TheEvalTableGivesTheIntervalsAndSaysWhenUsersAreFew) {
  EvalResult r;
  const auto model = ranks_with_hits(40, 32), pooling = ranks_with_hits(40, 16);
  r.model = metrics_from_ranks(model);
  r.mean_pooling = metrics_from_ranks(pooling);
  r.chance = chance_metrics(40);
  r.model_over_pooling = paired_ratios(model, pooling);
  const std::string table = r.table();
  EXPECT_NE(table.find("model / mean pooling: Recall@10 2.00x (95% interval "), std::string::npos)
      << table;
  EXPECT_NE(table.find("note: only 40 users scored (chance Recall@10 0.250"), std::string::npos)
      << table;
  EXPECT_EQ(r.to_json().at("model_over_mean_pooling").at("resamples").get<size_t>(), 2000u);
  // Enough users: no such note.
  r.model = metrics_from_ranks(ranks_with_hits(kFewScoredUsers, 50));
  EXPECT_EQ(r.table().find("note: only"), std::string::npos);
}
