#include <gtest/gtest.h>

#include "lti/data/batch.h"
#include "lti/data/sequences.h"
#include "lti/model/feature_embedding.h"
#include "model_fixtures.h"

using namespace lti;

namespace {

// One user's 6 interactions, logged from `first_hour` on, 5 hours apart: the same items,
// categories and behaviours whatever the hour, and the same relative times.
BatchTensors six_interactions_from(const std::string& first_hour) {
  RawInteractions rows;
  for (int i = 0; i < 6; ++i) {
    rows.user.push_back(7);
    rows.item.push_back(100 + 3 * i);
    rows.category.push_back(i % 4);
    rows.behavior.push_back(static_cast<uint8_t>(1 + i % 4));
    rows.time.push_back(*parse_hour(first_hour) + 5 * i);
  }
  const auto ds = EncodedDataset::build(rows, Encoders::fit(rows, 1));
  return BatchTensors::from(make_batch(ds, {ds.user_rows(0)}, 8, kBatchLongest), torch::kCPU);
}

// The largest difference between the embedding of the same interactions at two times of the
// week (a Thursday night and a Sunday afternoon), from a fresh model with `time_init`.
double change_with_the_time(const std::string& time_init) {
  torch::manual_seed(5);
  ModelConfig c = test::tiny_config();
  c.time_init = time_init;
  FeatureEmbedding embedding(c);
  embedding->eval();
  torch::NoGradGuard no_grad;
  const auto thursday_night = embedding(six_interactions_from("2014-11-20 23"));
  const auto sunday_afternoon = embedding(six_interactions_from("2014-11-23 14"));
  return (thursday_night - sunday_afternoon).abs().max().item<double>();
}

}  // namespace

// time_init zero: a fresh model embeds an interaction the same at any hour of the week, so the
// mean-pooling start cannot match two parts by when they happened; random (the original
// design) does not.
TEST(FeatureEmbedding, TimeInitZeroStartsBlindToTheTimeOfWeek) {
  EXPECT_EQ(change_with_the_time("zero"), 0.0);
  EXPECT_GT(change_with_the_time("random"), 0.01);
}

// The time columns start at zero but their tables do not, so the first step gives them
// gradient: training can still learn to use the time where it helps.
TEST(FeatureEmbedding, TimeInitZeroLeavesTheTimeColumnsLearnable) {
  torch::manual_seed(5);
  ModelConfig c = test::tiny_config();
  c.time_init = "zero";
  FeatureEmbedding embedding(c);
  embedding(six_interactions_from("2014-11-20 23")).pow(2).sum().backward();
  const int64_t first = c.item_embedding_dim + c.cate_embedding_dim, columns = 8 + 8 + 4;
  const auto weight = embedding->proj->weight;
  EXPECT_EQ(weight.narrow(1, first, columns).abs().max().item<double>(), 0.0);
  EXPECT_GT(weight.grad().narrow(1, first, columns).abs().max().item<double>(), 0.0);
}
