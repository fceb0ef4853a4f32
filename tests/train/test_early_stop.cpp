#include "lti/train/early_stop.h"

#include <gtest/gtest.h>

#include <vector>

namespace lti {
namespace {

TEST(RecentSlope, IsTheLeastSquaresSlopeOfTheLastWindow) {
  EXPECT_DOUBLE_EQ(recent_slope({1, 2, 3, 4}, 4), 1.0);
  EXPECT_NEAR(recent_slope({0.5, 0.4, 0.3}, 3), -0.1, 1e-12);
  // Only the last three count: 9, 9, 9 is flat whatever came before.
  EXPECT_DOUBLE_EQ(recent_slope({0, 5, 9, 9, 9}, 3), 0.0);
  // Symmetric noise around a line does not move its slope: 1, 3, 2, 4 is 0.8 an epoch.
  EXPECT_NEAR(recent_slope({1, 3, 2, 4}, 4), 0.8, 1e-12);
  // A window longer than the history: the line through all of it.
  EXPECT_DOUBLE_EQ(recent_slope({1, 3}, 10), 2.0);
  EXPECT_DOUBLE_EQ(recent_slope({7}, 5), 0.0);
  EXPECT_DOUBLE_EQ(recent_slope({}, 5), 0.0);
  EXPECT_DOUBLE_EQ(recent_slope({1, 2, 3}, 0), 0.0);
}

// A slow rise under jumps, as 70 validation users of a sparse ratings log make it: epoch 3 is a
// lucky peak that the next five epochs do not beat, though the line keeps rising.
const std::vector<double> kSlowNoisyRise = {0.10, 0.12, 0.20, 0.14, 0.16, 0.15, 0.18, 0.17, 0.19};
// Level after epoch 3: the later epochs scatter around it.
const std::vector<double> kPlateau = {0.50, 0.60, 0.70, 0.66, 0.69, 0.65, 0.68, 0.64, 0.67};

TEST(EarlyStop, PatienceAloneStopsOnALuckyEarlyEpoch) {
  const EarlyStop patience_alone{5, 0};
  EXPECT_FALSE(patience_alone.should_stop({kSlowNoisyRise.begin(), kSlowNoisyRise.begin() + 7}, 3));
  EXPECT_TRUE(patience_alone.should_stop({kSlowNoisyRise.begin(), kSlowNoisyRise.begin() + 8}, 3));
}

TEST(EarlyStop, GoesOnWhileTheTrendRises) {
  const EarlyStop with_trend{5, 15};
  EXPECT_GT(recent_slope(kSlowNoisyRise, 15), 0);
  EXPECT_FALSE(with_trend.should_stop(kSlowNoisyRise, 3));
  // A trend window of 3 epochs sees 0.18, 0.17, 0.19: still rising.
  EXPECT_FALSE((EarlyStop{5, 3}.should_stop(kSlowNoisyRise, 3)));
  // Falling at the end: it stops.
  std::vector<double> then_falling = kSlowNoisyRise;
  for (double v : {0.17, 0.16, 0.15}) then_falling.push_back(v);
  EXPECT_LT(recent_slope(then_falling, 5), 0);
  EXPECT_TRUE((EarlyStop{5, 5}.should_stop(then_falling, 3)));
}

TEST(EarlyStop, StopsOnAPlateauAsPatienceAloneDoes) {
  const EarlyStop with_trend{5, 6};
  EXPECT_LE(recent_slope(kPlateau, 6), 0);
  EXPECT_TRUE(with_trend.should_stop(kPlateau, 3));
  EXPECT_TRUE((EarlyStop{5, 0}.should_stop(kPlateau, 3)));
  // Patience first: a flat trend alone never stops training.
  EXPECT_FALSE(with_trend.should_stop({kPlateau.begin(), kPlateau.begin() + 7}, 3));
}

TEST(EarlyStop, PatienceZeroNeverStops) {
  EXPECT_FALSE((EarlyStop{0, 0}.should_stop(kPlateau, 3)));
  EXPECT_FALSE((EarlyStop{0, 6}.should_stop(kPlateau, 3)));
  EXPECT_EQ((EarlyStop{0, 6}.describe()), "no early stop");
  EXPECT_NE((EarlyStop{5, 15}.describe()).find("last 15 epochs"), std::string::npos);
  // The trend as the log gives it: the window clamped to the epochs there are.
  EXPECT_EQ((EarlyStop{5, 15}.trend({0.1, 0.2, 0.3})),
            "its trend over the last 3 epochs is +0.1000 an epoch");
  EXPECT_EQ((EarlyStop{5, 2}.trend({0.1, 0.3, 0.2})),
            "its trend over the last 2 epochs is -0.1000 an epoch");
}

TEST(TrailingMean, IsTheMeanOfTheLastWindow) {
  EXPECT_DOUBLE_EQ(trailing_mean({1, 2, 3, 6}, 2), 4.5);
  EXPECT_DOUBLE_EQ(trailing_mean({1, 2, 3, 6}, 1), 6.0);
  // Fewer values than the window: the mean of them all.
  EXPECT_DOUBLE_EQ(trailing_mean({1, 2}, 5), 1.5);
  // A window below 1 counts as 1; nothing to average is 0.
  EXPECT_DOUBLE_EQ(trailing_mean({1, 2}, 0), 2.0);
  EXPECT_DOUBLE_EQ(trailing_mean({}, 3), 0.0);
}

// Epoch 4 is one lucky epoch among poorer neighbours; epochs 6-8 are steadily good.
const std::vector<double> kLuckyThenSteady = {0.10, 0.15, 0.12, 0.30, 0.14, 0.24, 0.25, 0.26, 0.20};

// The epoch run() keeps: the first with the best score of the epochs up to it.
int64_t kept_epoch(const EarlyStop& rule, const std::vector<double>& val_mrr) {
  int64_t best = 0;
  double best_score = -1;
  for (size_t e = 1; e <= val_mrr.size(); ++e) {
    const double score = rule.score({val_mrr.begin(), val_mrr.begin() + static_cast<long>(e)});
    if (score > best_score) {
      best_score = score;
      best = static_cast<int64_t>(e);
    }
  }
  return best;
}

TEST(EarlyStop, AWindowKeepsASteadyEpochOverALuckyOne) {
  const EarlyStop own{5, 0, 1}, window{5, 0, 3};
  EXPECT_DOUBLE_EQ(own.score(kLuckyThenSteady), 0.20);
  EXPECT_NEAR(window.score(kLuckyThenSteady), (0.25 + 0.26 + 0.20) / 3, 1e-12);
  EXPECT_EQ(kept_epoch(own, kLuckyThenSteady), 4);
  // Epoch 4's window is 0.12, 0.30, 0.14 (0.187); epoch 8's is 0.24, 0.25, 0.26 (0.25).
  EXPECT_EQ(kept_epoch(window, kLuckyThenSteady), 8);
  EXPECT_EQ(own.score_name(), "validation MRR");
  EXPECT_EQ(window.score_name(), "validation MRR over 3 epochs");
  EXPECT_NE(window.describe().find("without a better validation MRR over 3 epochs"),
            std::string::npos);
  EXPECT_EQ((EarlyStop{0, 0, 3}.describe()),
            "no early stop; the epoch kept has the best validation MRR over 3 epochs");
}

}  // namespace
}  // namespace lti
