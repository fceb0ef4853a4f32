#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lti/train/trainer.h"
#include "lti/train/weight_average.h"
#include "lti/util/errors.h"
#include "model_fixtures.h"

using namespace lti;

TEST(WeightAverage, AveragesTheFirstStepsEvenlyThenDecays) {
  auto w = torch::zeros({3});
  WeightAverage average({w}, /*time_constant=*/2);
  const std::vector<float> steps = {4, 8, 2, 6};
  for (float value : steps) {
    w.fill_(value);
    average.update();
  }
  // Step 1: 4 (nothing of the initial 0 left); step 2: (4 + 8) / 2 = 6; then decay 1/2 a step:
  // (6 + 2) / 2 = 4, (4 + 6) / 2 = 5.
  EXPECT_EQ(average.steps(), 4);
  EXPECT_TRUE(torch::allclose(average.average(0), torch::full({3}, 5.0f)));
  EXPECT_THROW(WeightAverage({w}, 0.5), Error);
}

TEST(WeightAverage, AppliedHoldsTheAverageAndPutsTheRawWeightsBackBitForBit) {
  torch::manual_seed(1);
  auto w = torch::randn({4, 5}, torch::requires_grad());
  WeightAverage average({w}, 3);
  for (int s = 0; s < 5; ++s) {
    {
      torch::NoGradGuard no_grad;
      w.add_(torch::randn({4, 5}));
    }
    average.update();
  }
  const auto raw = w.detach().clone(), averaged = average.average(0).clone();
  const auto* impl = w.unsafeGetTensorImpl();
  {
    const WeightAverage::Applied applied = average.apply();
    EXPECT_TRUE(torch::equal(w, averaged));
    EXPECT_FALSE(torch::equal(w, raw));
  }
  EXPECT_TRUE(torch::equal(w, raw));
  EXPECT_TRUE(torch::equal(average.average(0), averaged));
  // The same tensor, so the optimiser's state (keyed by it) still belongs to it.
  EXPECT_EQ(w.unsafeGetTensorImpl(), impl);
  EXPECT_TRUE(w.requires_grad());
  // Updates after an apply still read the parameter, not the storage it held while applied.
  {
    torch::NoGradGuard no_grad;
    w.add_(1);
  }
  average.update();
  EXPECT_TRUE(torch::allclose(average.average(0), (2 * averaged + (raw + 1)) / 3));
}

TEST(WeightAverage, BytesLoadBackAndAWrongShapeIsAModelError) {
  test::TempDir dir;
  auto w = torch::randn({2, 3});
  WeightAverage average({w}, 4);
  w.add_(1);
  average.update();
  w.add_(1);
  average.update();
  const std::string path = dir.file("average.pt");
  std::ofstream(path, std::ios::binary) << average.bytes();

  auto v = torch::zeros({2, 3});
  WeightAverage restored({v}, 4);
  restored.load(path, torch::kCPU);
  EXPECT_EQ(restored.steps(), 2);
  EXPECT_TRUE(torch::equal(restored.average(0), average.average(0)));

  auto other = torch::zeros({3, 2});
  WeightAverage mismatched({other}, 4);
  EXPECT_THROW(mismatched.load(path, torch::kCPU), ModelError);
  std::ofstream(dir.file("bad.pt")) << "not an archive";
  EXPECT_THROW(mismatched.load(dir.file("bad.pt"), torch::kCPU), ModelError);
}

// With --ema_steps the save dir holds the average, resume/ the raw weights and the average, and
// a resumed run repeats an uninterrupted one, average included.
TEST(WeightAverage, TrainerSavesTheAverageAndResumesItExactly) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  auto options = [&](const std::string& save_dir, int64_t epochs) {
    TrainOptions o = test::tiny_train_options(save_dir, epochs);
    o.train.ema_steps = 3;
    o.train.patience = 0;
    return o;
  };
  Trainer straight(data, options(dir.file("straight"), 3));
  const auto uninterrupted = straight.run();
  ASSERT_EQ(uninterrupted.size(), 3u);
  const auto json = read_model_json(dir.file("straight"));
  EXPECT_EQ(json.at("train").at("ema_steps"), 3);
  ASSERT_TRUE(std::filesystem::exists(dir.file("straight/resume/weight_average.pt")));

  // The last epoch's raw weights are the trainer's; its average scores as validation said.
  const ModelConfig config = ModelConfig::from_json(json.at("model"));
  UserInterestModel raw(config), average(config);
  raw.load_weights(dir.file("straight/resume"));
  const auto raw_params = raw.parameters(), live = straight.model().parameters();
  for (size_t i = 0; i < live.size(); ++i) ASSERT_TRUE(torch::equal(raw_params[i], live[i]));
  if (straight.best_epoch() == 3) {
    average.load_weights(dir.file("straight"));
    bool differs = false;
    const auto averaged = average.parameters();
    for (size_t i = 0; i < live.size(); ++i) differs |= !torch::equal(averaged[i], live[i]);
    EXPECT_TRUE(differs) << "the saved weights should be the average, not the last step's";
  }
  // Validation scored the average: the figures recorded for epoch 3 are the average's, and
  // not those of the raw weights.
  EXPECT_NEAR(straight.validate_average().loss, uninterrupted[2].val_loss, 1e-6);
  EXPECT_GT(std::abs(straight.validate().loss - uninterrupted[2].val_loss), 1e-4);

  {
    Trainer first(data, options(dir.file("model"), 1));
    first.run();
  }
  TrainOptions more = options(dir.file("model"), 3);
  more.resume = true;
  Trainer resumed(data, more);
  const auto history = resumed.run();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].loss, uninterrupted[1].loss);
  EXPECT_NEAR(history[2].val_mrr, uninterrupted[2].val_mrr, 1e-6);
  EXPECT_NEAR(resumed.validate_average().mrr, straight.validate_average().mrr, 1e-6);
}
