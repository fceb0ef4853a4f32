#include <gtest/gtest.h>

#include "lti/data/batch.h"
#include "lti/data/sequences.h"
#include "lti/model/model.h"
#include "model_fixtures.h"

using namespace lti;

namespace {

EncodedDataset two_users() {
  RawInteractions rows;
  for (int u = 0; u < 2; ++u) {
    for (int i = 0; i < 6 + 5 * u; ++i) {
      rows.user.push_back(10 + u);
      rows.item.push_back(100 + (i * 7 + u) % 30);
      rows.category.push_back(i % 5);
      rows.behavior.push_back(static_cast<uint8_t>(1 + i % 4));
      rows.time.push_back(*parse_hour("2014-11-20 00") + i * 5 + u);
    }
  }
  return EncodedDataset::build(rows, Encoders::fit(rows, 1));
}

// A step's long and short chunks: batches of different lengths and sizes.
std::pair<std::vector<BatchTensors>, std::vector<BatchTensors>> step_chunks(
    const EncodedDataset& ds) {
  const auto batch = [&](std::vector<RowRange> users, size_t max_len) {
    return BatchTensors::from(make_batch(ds, users, max_len, kBatchLongest), torch::kCPU);
  };
  return {{batch({ds.user_rows(1)}, 32), batch({ds.user_rows(0), ds.user_rows(1)}, 32)},
          {batch({ds.user_rows(1)}, 8), batch({ds.user_rows(0), ds.user_rows(1)}, 8)}};
}

}  // namespace

TEST(Tower, ShapesThroughTheWholeModel) {
  torch::manual_seed(1);
  UserInterestModel model(test::tiny_config());
  const EncodedDataset ds = two_users();
  const auto batch =
      BatchTensors::from(make_batch(ds, {ds.user_rows(0), ds.user_rows(1)}, 32, 10), torch::kCPU);
  EXPECT_EQ(model.feature_embedding(batch).sizes(),
            (std::vector<int64_t>{2, 11, 16}));  // longest user: 11
  EXPECT_EQ(model.encode_long(batch).sizes(), (std::vector<int64_t>{2, 16}));
  const auto short_batch =
      BatchTensors::from(make_batch(ds, {ds.user_rows(0), ds.user_rows(1)}, 8, 10), torch::kCPU);
  EXPECT_EQ(model.encode_short(short_batch).sizes(), (std::vector<int64_t>{2, 16}));
}

TEST(Tower, AddingPaddingDoesNotChangeTheClsOutput) {
  torch::manual_seed(2);
  UserInterestModel model(test::tiny_config());
  model.train(false);
  torch::NoGradGuard no_grad;
  const EncodedDataset ds = two_users();
  const std::vector<RowRange> users = {ds.user_rows(0), ds.user_rows(1)};
  const auto tight =
      model.encode_long(BatchTensors::from(make_batch(ds, users, 32, 11), torch::kCPU));
  const auto padded =
      model.encode_long(BatchTensors::from(make_batch(ds, users, 32, 30), torch::kCPU));
  EXPECT_LT((tight - padded).abs().max().item<double>(), 1e-6);
  // A user alone gives the same vector as in a batch.
  const auto alone =
      model.encode_long(BatchTensors::from(make_batch(ds, {users[0]}, 32, 11), torch::kCPU));
  EXPECT_LT((alone[0] - tight[0]).abs().max().item<double>(), 1e-6);
}

TEST(Tower, OneMoePassOverSeveralBatchesEqualsEncodingThemOneByOne) {
  torch::manual_seed(4);
  UserInterestModel model(test::tiny_config());
  model.train(false);
  torch::NoGradGuard no_grad;
  const EncodedDataset ds = two_users();
  const auto [longs, shorts] = step_chunks(ds);
  const auto [long_vec, short_vec] = model.encode_batches(longs, shorts);
  const auto one_by_one_long =
      torch::cat({model.encode_long(longs[0]), model.encode_long(longs[1])});
  const auto one_by_one_short =
      torch::cat({model.encode_short(shorts[0]), model.encode_short(shorts[1])});
  ASSERT_EQ(long_vec.sizes(), (std::vector<int64_t>{3, 16}));
  EXPECT_LT((long_vec - one_by_one_long).abs().max().item<double>(), 1e-5);
  EXPECT_LT((short_vec - one_by_one_short).abs().max().item<double>(), 1e-5);
}

TEST(Tower, OneMoePassGivesTheGradientsOfEncodingOneByOne) {
  // encode_batches embeds every batch's positions in one call; the item table's gradient must
  // be the sum of what each batch sends it.
  torch::manual_seed(6);
  UserInterestModel model(test::tiny_config());
  model.train(false);  // no dropout: the two passes must see the same function
  const EncodedDataset ds = two_users();
  const auto [longs, shorts] = step_chunks(ds);
  const auto item_gradient = [&](const torch::Tensor& long_vec, const torch::Tensor& short_vec) {
    auto& table = model.feature_embedding->item->weight;
    table.mutable_grad() = torch::Tensor();
    (long_vec * short_vec).sum().backward();
    return table.grad().clone();
  };
  const auto [long_vec, short_vec] = model.encode_batches(longs, shorts);
  const auto together = item_gradient(long_vec, short_vec);
  const auto one_by_one =
      item_gradient(torch::cat({model.encode_long(longs[0]), model.encode_long(longs[1])}),
                    torch::cat({model.encode_short(shorts[0]), model.encode_short(shorts[1])}));
  EXPECT_GT(together.abs().max().item<double>(), 1e-3);
  EXPECT_LT((together - one_by_one).abs().max().item<double>(), 1e-5);
}

TEST(Tower, RecencyPositionsReachTheOutput) {
  // The most recent interaction has position 1: changing row 1 of the position table changes
  // the output, changing a row beyond the longest sequence does not.
  torch::manual_seed(3);
  ModelConfig c = test::tiny_config();
  Tower tower(c, c.n_max);
  tower->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 4, 16});
  const auto position = torch::tensor({{4, 3, 2, 1}}, torch::kInt64);
  const auto base = tower(x, position);
  // (A random change: a constant shift of every component would vanish in the LayerNorm.)
  tower->pos->weight[20].add_(torch::randn({16}));
  EXPECT_TRUE(torch::allclose(base, tower(x, position)));
  tower->pos->weight[1].add_(torch::randn({16}));
  EXPECT_FALSE(torch::allclose(base, tower(x, position)));
}

TEST(Tower, StateDictNamesFollowAppendixA) {
  ModelConfig c = test::tiny_config();
  UserInterestModel model(c);
  std::set<std::string> names;
  for (const auto& p : model.long_term->named_parameters()) names.insert(p.key());
  for (const char* n :
       {"cls", "pos.weight", "blocks.0.attn_norm.weight", "blocks.0.attn_norm.bias",
        "blocks.0.attn.qkv.weight", "blocks.0.attn.out.weight", "blocks.0.attn.out.bias",
        "blocks.1.ff_norm.weight", "blocks.1.ff.fc1.weight", "blocks.1.ff.fc1.bias",
        "blocks.1.ff.fc2.weight", "blocks.1.ff.fc2.bias", "norm.weight", "norm.bias"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(names.size(), 2u + 2 * 11 + 2);
  EXPECT_EQ(model.long_term->pos->weight.size(0), c.n_max + 1);
  EXPECT_EQ(model.short_term->pos->weight.size(0), c.k_max + 1);
  std::set<std::string> moe;
  for (const auto& p : model.moe_layer->named_buffers()) moe.insert(p.key());
  EXPECT_EQ(moe, (std::set<std::string>{"bias", "load"}));
}

// A tower started as mean pooling maps a sequence close to the mean of its input (the baseline
// the model must beat); a randomly initialised one does not.
TEST(Tower, StartsCloseToTheMeanOfItsInputWithMeanPoolingInit) {
  auto mean_cosine = [](const std::string& init) {
    torch::manual_seed(11);
    ModelConfig c = test::tiny_config();
    c.tower_init = init;
    c.hidden_dim = 32;
    c.dim_head = 16;  // inner size 32: the identity path covers every dimension
    Tower tower(c, c.n_max);
    if (init == "mean_pooling") tower->start_as_mean_pooling();
    tower->eval();
    torch::NoGradGuard no_grad;
    // 16 sequences of 12 tokens: a per-sequence direction plus noise, 4 padded positions.
    const auto x = torch::randn({16, 1, 32}) * 2 + torch::randn({16, 12, 32});
    auto position = torch::arange(12, 0, -1).repeat({16, 1});
    position.narrow(1, 0, 4).zero_();
    const auto valid = position.gt(0).unsqueeze(-1).to(torch::kFloat32);
    const auto mean = (x * valid).sum(1) / valid.sum(1);
    const auto out = tower(x, position);
    return torch::nn::functional::cosine_similarity(
               out, mean, torch::nn::functional::CosineSimilarityFuncOptions().dim(1))
        .mean()
        .item<double>();
  };
  const double mean_pooling = mean_cosine("mean_pooling"), random = mean_cosine("random");
  EXPECT_GT(mean_pooling, 0.8);
  EXPECT_LT(random, 0.5);
}

// Under CPU bf16 a step that records a graph takes the explicit attention and inference the fused
// kernel (src/model/tower.cpp): the two give the same vectors, within bfloat16's rounding, with
// padding present; and the gradient of the explicit form flows.
TEST(Tower, BfloatSixteenExplicitAndFusedAttentionAgree) {
  torch::manual_seed(4);
  UserInterestModel model(test::tiny_config());
  model.train(false);  // no dropout: the two passes see the same network
  model.set_precision(Precision::kBf16);
  const EncodedDataset ds = two_users();
  const auto batch =
      BatchTensors::from(make_batch(ds, {ds.user_rows(0), ds.user_rows(1)}, 32, 20), torch::kCPU);
  const auto recorded = model.encode_long(batch);  // grad mode: the explicit form
  torch::Tensor fused;
  {
    torch::NoGradGuard no_grad;
    fused = model.encode_long(batch);
  }
  ASSERT_TRUE(recorded.requires_grad());
  EXPECT_LT((recorded.detach() - fused).abs().max().item<double>(), 0.05);
  EXPECT_GT(torch::cosine_similarity(recorded.detach(), fused, 1).min().item<double>(), 0.999);
  // (A plain sum of the final LayerNorm's output has no gradient: weigh each component.)
  (recorded * torch::randn_like(recorded)).sum().backward();
  const auto& qkv = model.long_term->blocks->ptr<BlockImpl>(0)->attn->qkv->weight;
  ASSERT_TRUE(qkv.grad().defined());
  EXPECT_GT(qkv.grad().abs().sum().item<double>(), 0.0);
}
