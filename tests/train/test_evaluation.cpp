#include <gtest/gtest.h>

#include <fstream>

#include "lti/train/evaluation.h"
#include "lti/train/trainer.h"
#include "lti/util/rng.h"
#include "lti/util/time_util.h"
#include "model_fixtures.h"

using namespace lti;

TEST(Evaluation, MetricsEqualHandComputedValues) {
  const auto q = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}, {1.0f, 2.0f}});
  const auto t = torch::tensor({{1.0f, 0.0f}, {1.0f, 0.1f}, {0.0f, 1.0f}});
  // Ranks of the own target: 1, 2 (target 2 scores higher for query 1), 1.
  for (int64_t chunk : {1, 2, 256}) {
    const RetrievalMetrics m = retrieval_metrics(q, t, chunk);
    EXPECT_EQ(m.users, 3u);
    EXPECT_NEAR(m.recall_at_1, 2.0 / 3, 1e-12);
    EXPECT_NEAR(m.recall_at_10, 1.0, 1e-12);
    EXPECT_NEAR(m.recall_at_50, 1.0, 1e-12);
    EXPECT_NEAR(m.mrr, (1 + 0.5 + 1) / 3, 1e-12);
  }
  const RetrievalMetrics c = chance_metrics(3);
  EXPECT_NEAR(c.recall_at_1, 1.0 / 3, 1e-12);
  EXPECT_NEAR(c.mrr, (1 + 0.5 + 1.0 / 3) / 3, 1e-12);
  const RetrievalMetrics big = chance_metrics(1000);
  EXPECT_NEAR(big.recall_at_10, 0.01, 1e-12);
  EXPECT_NEAR(big.recall_at_50, 0.05, 1e-12);
}

TEST(Evaluation, TiesCountAgainstTheUser) {
  // Every target is the same vector: every query ties with all three, so each ranks last.
  const auto same = torch::tensor({{1.0f, 0.0f}, {1.0f, 0.0f}, {1.0f, 0.0f}});
  const auto queries = torch::tensor({{1.0f, 0.0f}, {2.0f, 0.0f}, {0.0f, 1.0f}});
  RetrievalMetrics m = retrieval_metrics(queries, same);
  EXPECT_EQ(m.recall_at_1, 0.0);
  EXPECT_NEAR(m.mrr, 1.0 / 3, 1e-12);
  // A degenerate model that maps everyone to zero cannot look good either.
  m = retrieval_metrics(torch::zeros({4, 2}), torch::zeros({4, 2}));
  EXPECT_EQ(m.recall_at_1, 0.0);
  EXPECT_NEAR(m.mrr, 0.25, 1e-12);
  // One tie: query 0's own target (cos 1) ties with target 1 (cos 1): rank 2; query 1 the
  // same; query 2 is alone at the top: rank 1.
  const auto t = torch::tensor({{1.0f, 0.0f}, {3.0f, 0.0f}, {0.0f, 1.0f}});
  const auto q = torch::tensor({{1.0f, 0.0f}, {1.0f, 0.0f}, {0.0f, 1.0f}});
  for (int64_t chunk : {1, 256}) {
    m = retrieval_metrics(q, t, chunk);
    EXPECT_NEAR(m.recall_at_1, 1.0 / 3, 1e-12);
    EXPECT_NEAR(m.mrr, (0.5 + 0.5 + 1) / 3, 1e-12);
  }
  // A NaN vector ranks last.
  m = retrieval_metrics(torch::tensor({{NAN, 0.0f}, {0.0f, 1.0f}}),
                        torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}}));
  EXPECT_NEAR(m.mrr, (0.5 + 1) / 2, 1e-12);
}

// Planted interests that drift (the newest interactions say most about the short part) and
// deliberate behaviours that stay on interest: a model that learns, with the default objective,
// beats averaging the embeddings. The saved (best) epoch is the one evaluated.
TEST(Evaluation, TrainedModelBeatsMeanPoolingAndChance) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 1000, 60000, 21, 0.9, 1.0);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 20);
  o.model.hidden_dim = 32;
  o.model.n_max = 64;
  o.train.lr = TrainConfig().lr;
  o.train.val_fraction = 0.25;
  o.train.seed = 3;
  Trainer trainer(data, o);
  trainer.run();
  auto saved = load_trained_model(dir.file("model"), torch::kCPU, nullptr);
  const EvalResult r =
      evaluate(*saved, data.data, trainer.validation_user_indices(), 64, torch::kCPU);
  std::cout << r.table();
  EXPECT_GT(r.model.users, 200u);
  EXPECT_GT(r.model.recall_at_10, r.mean_pooling.recall_at_10);
  EXPECT_GT(r.model.mrr, r.mean_pooling.mrr);
  EXPECT_GT(r.mean_pooling.recall_at_10, 3 * r.chance.recall_at_10);
  EXPECT_GT(r.model.mrr, 3 * r.chance.mrr);
}

// The line under the table: said when the clock (no vector at all) gains at least half of what
// the model gains over chance, and is above 1.5x chance; counted from ranks like the others.
TEST(Evaluation, TheClockRowIsFlaggedWhenItComesWithinReachOfTheModel) {
  EvalResult r;
  r.chance = chance_metrics(100);                             // MRR 0.052
  r.model = metrics_from_ranks(std::vector<size_t>(100, 2));  // MRR 0.5
  r.clock = metrics_from_ranks(std::vector<size_t>(100, 4));  // MRR 0.25: 44% of the gain
  EXPECT_DOUBLE_EQ(r.model.mrr, 0.5);
  EXPECT_DOUBLE_EQ(r.clock.recall_at_1, 0.0);
  EXPECT_DOUBLE_EQ(r.clock.recall_at_10, 1.0);
  EXPECT_FALSE(r.clock_within_reach());
  EXPECT_EQ(r.table().find("note: the clock"), std::string::npos);
  r.clock = metrics_from_ranks(std::vector<size_t>(100, 3));  // MRR 0.333: 63% of the gain
  EXPECT_TRUE(r.clock_within_reach());
  EXPECT_NE(r.table().find("note: the clock alone gains 63% of the model's MRR over chance"),
            std::string::npos)
      << r.table();
  EXPECT_TRUE(r.to_json().at("clock_within_reach").get<bool>());
  // Near chance it is never flagged, however close to a weak model.
  r.model = metrics_from_ranks(std::vector<size_t>(100, 19));
  r.clock = metrics_from_ranks(std::vector<size_t>(100, 20));
  EXPECT_FALSE(r.clock_within_reach());
}

// The moved row and its note: what moving the short parts takes from the model's MRR gain.
TEST(Evaluation, TheMovedRowSaysHowMuchOfTheModelsMarginIsTheClock) {
  EvalResult r;
  r.chance = chance_metrics(100);                                   // MRR 0.052
  r.model = metrics_from_ranks(std::vector<size_t>(100, 2));        // MRR 0.5
  r.model_moved = metrics_from_ranks(std::vector<size_t>(100, 3));  // MRR 0.333
  EXPECT_NEAR(r.clock_share_of_model(), (0.5 - 1.0 / 3) / (0.5 - r.chance.mrr), 1e-12);
  EXPECT_NE(r.table().find("note: moving the short parts in time takes 37%"), std::string::npos)
      << r.table();
  EXPECT_NE(r.table().find("model (moved)"), std::string::npos);
  EXPECT_NEAR(r.to_json().at("model_moved").at("mrr").get<double>(), 1.0 / 3, 1e-12);
  // Moved figures as good as the model's (or better): nothing of it was the clock, no note.
  r.model_moved = metrics_from_ranks(std::vector<size_t>(100, 1));
  EXPECT_EQ(r.clock_share_of_model(), 0.0);
  EXPECT_EQ(r.table().find("note: moving"), std::string::npos);
  // A model at chance has no margin to explain: no note either.
  r.model = metrics_from_ranks(std::vector<size_t>(100, 30));
  r.model_moved = metrics_from_ranks(std::vector<size_t>(100, 90));
  EXPECT_EQ(r.table().find("note: moving"), std::string::npos);
}

namespace {

// Histories whose only signal is the clock: items and categories at random, and every user's
// short part (2 rows) starts 5 hours after the long part (18 hourly rows) ends, the boundary at
// a random hour of the week for each user. The gap split cuts at that pause.
Ingested clock_only_data(const test::TempDir& dir, uint64_t users) {
  std::ofstream csv(dir.file("train.csv"));
  csv << "user_id,item_id,behavior_type,user_geohash,item_category,time\n";
  Rng rng(99);
  const UnixHour start = *parse_hour("2014-11-18 00");
  for (uint64_t u = 0; u < users; ++u) {
    const UnixHour long_end = start + 24 + static_cast<UnixHour>(rng.below(24 * 21));
    std::vector<UnixHour> times;
    for (int i = 17; i >= 0; --i) times.push_back(long_end - i);
    times.push_back(long_end + 5);
    times.push_back(long_end + 6);
    for (const UnixHour t : times)
      csv << 5000 + u << ',' << 100 + rng.below(40) << ",1,," << rng.below(8) << ','
          << format_hour(t) << '\n';
  }
  csv.close();
  return ingest(dir.file("train.csv"), {}, 1);
}

EvalResult train_and_evaluate(const test::TempDir& dir, const Ingested& data,
                              const std::string& short_time) {
  TrainOptions o = test::tiny_train_options(dir.file("model-" + short_time), 12);
  o.model.hidden_dim = 32;
  o.train.val_fraction = 0.3;
  o.train.patience = 0;
  o.train.short_time = short_time;
  Trainer trainer(data, o);
  trainer.run();
  auto saved = load_trained_model(o.save_dir, torch::kCPU, nullptr);
  return evaluate(*saved, data.data, trainer.validation_user_indices(), 64, torch::kCPU,
                  SplitRule::gap(4));
}

}  // namespace

// Where the boundary is all there is to learn, a model trained on the times as logged learns
// it (and the moved row shows it: moving the short parts takes its margin), while one trained
// with --short_time moved has nothing to learn and gains a small part of that over chance.
// Not nothing: time features that training did not reward still make parts of the same weekday
// alike, and with 115 users the MRR's 95% interval is about 0.7x chance wide, so over seeds
// 1-4 and 7 such a model scored 1.27-1.96x chance (with either --time_init). Its gain stays
// under a sixth of the kept model's there; the bound below is a quarter.
TEST(Evaluation, MovedShortPartsTrainingLearnsNoClock) {
  test::TempDir dir;
  const Ingested data = clock_only_data(dir, 400);
  const EvalResult kept = train_and_evaluate(dir, data, "kept");
  std::cout << kept.table();
  ASSERT_GT(kept.model.users, 90u);
  EXPECT_GT(kept.model.mrr, 2 * kept.chance.mrr);
  EXPECT_GT(kept.clock_share_of_model(), 0.5);
  EXPECT_LT(kept.model_moved.mrr, 1.5 * kept.chance.mrr);
  const EvalResult moved = train_and_evaluate(dir, data, "moved");
  std::cout << moved.table();
  EXPECT_LT(moved.model.mrr - moved.chance.mrr, 0.25 * (kept.model.mrr - kept.chance.mrr));
  EXPECT_GT(kept.model.mrr, 3 * moved.model.mrr);
}
