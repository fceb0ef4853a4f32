#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "lti/errors.h"
#include "lti/objective.h"
#include "lti/trainer.h"
#include "model_fixtures.h"

using namespace lti;

namespace {

double softplus(double x) { return std::log1p(std::exp(x)); }

}  // namespace

TEST(Objective, BprLossEqualsAHandComputedValue) {
  const auto l = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const auto s = torch::tensor({{2.0f, 0.0f}, {1.0f, 1.0f}});
  const auto negative = torch::tensor({1, 0}, torch::kInt64);
  // cos(L0,S0) = 1, cos(L0,S1) = 1/sqrt2; cos(L1,S1) = 1/sqrt2, cos(L1,S0) = 0.
  const double r = 1.0 / std::sqrt(2.0);
  const double expected = (softplus(-(1.0 - r)) + softplus(-(r - 0.0))) / 2;
  EXPECT_NEAR(bpr_loss(l, s, negative).item<double>(), expected, 1e-6);
  EXPECT_NEAR(separation(l, s), (1.0 + r) / 2 - (r + 0.0) / 2, 1e-6);
}

TEST(Objective, DerangementsHaveNoFixedPoints) {
  Rng rng(1);
  for (int64_t n : {2, 3, 10, 256}) {
    for (int rep = 0; rep < 20; ++rep) {
      const auto p = random_derangement(n, rng);
      std::vector<int64_t> sorted = p;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_NE(p[i], i);
        EXPECT_EQ(sorted[i], i);
      }
    }
  }
}

TEST(Trainer, LearnsPlantedInterests) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir);
  Trainer trainer(data, test::tiny_train_options(dir.file("model"), 4));
  ASSERT_GE(trainer.validation_users(), 20u);
  const auto before = trainer.validate();
  const double loss_before = before.loss, sep_before = before.separation;
  const auto history = trainer.run();
  ASSERT_EQ(history.size(), 4u);
  EXPECT_LT(history.back().loss, history.front().loss);
  EXPECT_LT(history.back().val_loss, loss_before);
  EXPECT_GT(history.back().val_separation, sep_before + 0.1)
      << "separation before " << sep_before << " after " << history.back().val_separation;
  EXPECT_GT(history.back().val_recall_at_10, before.recall_at_10);
}

TEST(Trainer, SameSeedSameThreadsSameLosses) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  torch::set_num_threads(1);
  Trainer a(data, test::tiny_train_options(dir.file("a")));
  Trainer b(data, test::tiny_train_options(dir.file("b")));
  const auto la = a.first_step_losses(3), lb = b.first_step_losses(3);
  ASSERT_EQ(la.size(), 3u);
  EXPECT_EQ(la, lb);
  TrainOptions other = test::tiny_train_options(dir.file("c"));
  other.train.seed = 8;
  Trainer c(data, other);
  EXPECT_NE(c.first_step_losses(3), la);
}

TEST(Trainer, SavedModelLoadsBackToIdenticalVectorsAndSavesTheLoadOfTheLastEpoch) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  Trainer trainer(data, test::tiny_train_options(dir.file("model"), 2));
  const auto history = trainer.run();

  Encoders encoders;
  auto loaded = load_trained_model(dir.file("model"), torch::kCPU, &encoders);
  EXPECT_EQ(encoders.item.known_raw_ids(), data.encoders.item.known_raw_ids());
  std::vector<RowRange> users;
  for (size_t u = 0; u < 20; ++u) users.push_back(data.data.user_rows(u));
  const auto batch = BatchTensors::from(make_batch(data.data, users, 32, 100), torch::kCPU);
  torch::NoGradGuard no_grad;
  trainer.model().train(false);
  EXPECT_TRUE(torch::equal(trainer.model().encode_long(batch), loaded->encode_long(batch)));

  // The load in moe_layer.pth is the one that routed epoch 2: the shares measured in epoch 1.
  const auto saved_load = loaded->moe_layer->load;
  const auto epoch1 = torch::tensor(history[0].usage.share, torch::kFloat64).to(torch::kFloat32);
  const auto epoch2 = torch::tensor(history[1].usage.share, torch::kFloat64).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(saved_load, epoch1));
  EXPECT_FALSE(torch::allclose(saved_load, epoch2));
  const auto json = read_model_json(dir.file("model"));
  EXPECT_EQ(json.at("epochs_completed"), 2);
  EXPECT_EQ(json.at("model").at("heads"), 2);
  EXPECT_EQ(json.at("model").at("dim_head"), 8);
}

TEST(Trainer, ResumeContinuesFromTheLastCompletedEpoch) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  {
    Trainer first(data, test::tiny_train_options(dir.file("model"), 1));
    first.run();
  }
  const auto after_one = read_model_json(dir.file("model"));
  TrainOptions more = test::tiny_train_options(dir.file("model"), 3);
  more.resume = true;
  Trainer resumed(data, more);
  const auto history = resumed.run();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].loss, after_one.at("epochs")[0].at("loss").get<double>());
  // Epochs are seeded by number and the optimiser state is restored: resuming repeats exactly
  // what one uninterrupted run does.
  Trainer straight(data, test::tiny_train_options(dir.file("straight"), 3));
  const auto uninterrupted = straight.run();
  EXPECT_EQ(history[1].loss, uninterrupted[1].loss);
  EXPECT_NEAR(history[2].loss, uninterrupted[2].loss, 1e-6);
  const auto json = read_model_json(dir.file("model"));
  EXPECT_EQ(json.at("epochs_completed"), 3);
  // The first resumed epoch routed with the shares measured in epoch 1.
  // (moe_layer.pth now holds epoch 3's load, i.e. epoch 2's shares.)
  auto loaded = load_trained_model(dir.file("model"), torch::kCPU, nullptr);
  const auto epoch2 = torch::tensor(history[1].usage.share, torch::kFloat64).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(loaded->moe_layer->load, epoch2));

  // A resume with other model options is refused.
  TrainOptions changed = test::tiny_train_options(dir.file("model"), 4);
  changed.resume = true;
  changed.model.depth = 3;
  Trainer mismatched(data, changed);
  EXPECT_THROW(mismatched.run(), ModelError);
}

TEST(Trainer, DivergenceStopsWithAClearErrorAndKeepsTheLastCheckpoint) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  {
    Trainer good(data, test::tiny_train_options(dir.file("model"), 1));
    good.run();
  }
  const std::string before = test::read_text(dir.file("model/long_term.pth"));
  TrainOptions bad = test::tiny_train_options(dir.file("model"), 3);
  bad.resume = true;
  bad.train.lr = 1e30;
  Trainer diverging(data, bad);
  try {
    diverging.run();
    FAIL() << "expected divergence";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitDiverged);
    EXPECT_NE(std::string(e.what()).find("is intact"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_model_json(dir.file("model")).at("epochs_completed"), 1);
  EXPECT_EQ(test::read_text(dir.file("model/long_term.pth")), before);
}

TEST(Trainer, LoadingAMismatchedModelIsAModelError) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  Trainer trainer(data, test::tiny_train_options(dir.file("model"), 1));
  trainer.run();
  // model.json from another configuration.
  auto json = read_model_json(dir.file("model"));
  json["model"]["hidden_dim"] = 32;
  test::write_text(dir.file("model/model.json"), json.dump());
  EXPECT_THROW(load_trained_model(dir.file("model"), torch::kCPU, nullptr), ModelError);
  test::write_text(dir.file("model/model.json"), "{\"format_");
  EXPECT_THROW(load_trained_model(dir.file("model"), torch::kCPU, nullptr), ModelError);
  EXPECT_THROW(load_trained_model(dir.file("nowhere"), torch::kCPU, nullptr), ModelError);
}
