#include <gtest/gtest.h>

#include "lti/train/evaluation.h"
#include "lti/train/trainer.h"
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
