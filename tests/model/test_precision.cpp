// --precision: bf16 autocast against fp32 (src/model/precision.cpp,
// UserInterestModel::set_precision).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "lti/data/batch.h"
#include "lti/data/sequences.h"
#include "lti/model/model.h"
#include "lti/model/precision.h"
#include "lti/util/errors.h"
#include "model_fixtures.h"

using namespace lti;

TEST(Precision, ChoicesResolveAndAutoFollowsTheHardware) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_EQ(resolve_precision("fp32", cpu), Precision::kFp32);
  EXPECT_EQ(resolve_precision("bf16", cpu), Precision::kBf16);
  EXPECT_EQ(resolve_precision("auto", cpu), native_bf16(cpu) ? Precision::kBf16 : Precision::kFp32);
  try {
    resolve_precision("fp16", cpu);
    FAIL() << "fp16 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos);
  }
  EXPECT_STREQ(precision_name(Precision::kBf16), "bf16");
  EXPECT_STREQ(precision_name(Precision::kFp32), "fp32");
}

TEST(Precision, Bf16VectorsEqualFp32WithinBf16RoundingAndTheScopeEnds) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 60, 3000);
  torch::manual_seed(3);
  ModelConfig config = test::tiny_config();
  config.num_items = static_cast<int64_t>(data.encoders.item.num_known());
  config.num_categories = static_cast<int64_t>(data.encoders.category.num_known());
  UserInterestModel model(config);
  model.train(false);
  torch::NoGradGuard no_grad;
  std::vector<RowRange> users;
  for (size_t u = 0; u < 24; ++u) users.push_back(data.data.user_rows(u));
  const auto batch =
      BatchTensors::from(make_batch(data.data, users, 32, kBatchLongest), torch::kCPU);

  const torch::Tensor fp32 = model.encode_long(batch);
  model.set_precision(Precision::kBf16);
  const torch::Tensor bf16 = model.encode_long(batch);
  model.set_precision(Precision::kFp32);
  const torch::Tensor again = model.encode_long(batch);

  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);  // the vectors leave the model in fp32
  const double scale = fp32.abs().max().item<double>();
  const double diff = (bf16 - fp32).abs().max().item<double>();
  EXPECT_GT(diff, 0.0) << "bf16 gave exactly the fp32 vectors: autocast did not act";
  // bfloat16 keeps 8 significant bits (relative rounding 2^-9 per product) through a few
  // layers: a few percent of the largest component at most.
  EXPECT_LT(diff, 0.05 * scale) << "scale " << scale;
  const auto cosine = torch::cosine_similarity(bf16, fp32, 1);
  EXPECT_GT(cosine.min().item<double>(), 0.995);
  // Leaving the bf16 encode restored fp32 exactly: the same vectors as before, bit for bit.
  EXPECT_TRUE(torch::equal(again, fp32));
}

TEST(Precision, Bf16TrainingLowersTheLossLikeFp32AndModelJsonRecordsIt) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 160, 12000);
  std::vector<std::vector<EpochStats>> histories;
  for (const std::string precision : {"fp32", "bf16"}) {
    TrainOptions o = test::tiny_train_options(dir.file("model-" + precision), 4);
    o.precision = precision;
    Trainer trainer(data, o);
    histories.push_back(trainer.run());
    std::ifstream in(dir.file("model-" + precision) + "/model.json");
    EXPECT_EQ(nlohmann::json::parse(in).at("precision"), precision);
  }
  const auto& fp32 = histories[0];
  const auto& bf16 = histories[1];
  ASSERT_EQ(fp32.size(), 4u);
  ASSERT_EQ(bf16.size(), 4u);
  EXPECT_LT(bf16.back().loss, 0.9 * bf16.front().loss);
  for (size_t e = 0; e < fp32.size(); ++e) {
    EXPECT_NEAR(bf16[e].loss, fp32[e].loss, 0.05 * fp32[e].loss) << "epoch " << e + 1;
    EXPECT_NEAR(bf16[e].val_mrr, fp32[e].val_mrr, 0.1) << "epoch " << e + 1;
  }
}
