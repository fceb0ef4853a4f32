#include "lti/model/feature_embedding.h"

namespace lti {

namespace {

torch::nn::Embedding padded_embedding(int64_t rows, int64_t dim) {
  return torch::nn::Embedding(torch::nn::EmbeddingOptions(rows, dim).padding_idx(0));
}

}  // namespace

FeatureEmbeddingImpl::FeatureEmbeddingImpl(const ModelConfig& c) {
  constexpr int64_t kWeekdayDim = 8, kHourDim = 8, kWeekendDim = 4, kBehaviorDim = 8, kContDim = 8;
  item = register_module("item", padded_embedding(c.num_items + 2, c.item_embedding_dim));
  category =
      register_module("category", padded_embedding(c.num_categories + 2, c.cate_embedding_dim));
  weekday = register_module("weekday", padded_embedding(8, kWeekdayDim));
  hour = register_module("hour", padded_embedding(25, kHourDim));
  weekend = register_module("weekend", padded_embedding(3, kWeekendDim));
  behavior = register_module("behavior", padded_embedding(5, kBehaviorDim));
  continuous = register_module("continuous", torch::nn::Linear(2, kContDim));
  const int64_t concat = c.item_embedding_dim + c.cate_embedding_dim + kWeekdayDim + kHourDim +
                         kWeekendDim + kBehaviorDim + kContDim;
  proj = register_module("proj", torch::nn::Linear(concat, c.hidden_dim));
  if (c.time_init == "zero") {
    // The towers start as a mean of this output: with the time columns random, that mean holds
    // the hours of the part it pools, and two parts match by when they happened. The tables
    // stay random, so the columns get gradient from the first step and can grow where time
    // helps.
    torch::NoGradGuard no_grad;
    proj->weight
        .narrow(1, c.item_embedding_dim + c.cate_embedding_dim,
                kWeekdayDim + kHourDim + kWeekendDim)
        .zero_();
  }
  norm = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_dim}).eps(1e-5)));
}

torch::Tensor FeatureEmbeddingImpl::forward(const BatchTensors& b) {
  // Concatenation order is part of the contract with Python readers (Appendix A).
  const auto features =
      torch::cat({item(b.item), category(b.category), weekday(b.weekday), hour(b.hour),
                  weekend(b.weekend), behavior(b.behavior), continuous(b.continuous)},
                 /*dim=*/-1);
  // LayerNorm in fp32: under bf16 autocast the projection's output is bfloat16.
  return norm(proj(features).to(torch::kFloat));
}

}  // namespace lti
