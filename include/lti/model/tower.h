// A Transformer tower over a sequence's MoE output, read out at a [CLS] token (SPEC 4.3).
// The long-term and short-term towers are two instances with separate weights.
#pragma once

#include <torch/torch.h>

#include "lti/model/dropout.h"
#include "lti/model/model_config.h"

namespace lti {

// Multi-head self-attention; padded keys are masked with -inf.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t hidden, int64_t heads, int64_t dim_head);
  // x [B, T, H] (already normalised), key_valid [B, T] bool. Only the first `queries` positions
  // are computed as queries (the last block needs the CLS position alone).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_valid, int64_t queries);

  torch::nn::Linear qkv{nullptr}, out{nullptr};

 private:
  int64_t heads_, dim_head_;
};
TORCH_MODULE(Attention);

class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);  // H -> 4H -> H with exact GELU
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(FeedForward);

// Pre-norm block: x += drop(attn(LN(x))); x += drop(ff(LN(x))).
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_valid, int64_t queries);

  torch::nn::LayerNorm attn_norm{nullptr}, ff_norm{nullptr};
  Attention attn{nullptr};
  FeedForward ff{nullptr};
  Dropout drop{nullptr};
};
TORCH_MODULE(Block);

class TowerImpl : public torch::nn::Module {
 public:
  // max_len: N_MAX for the long tower, K_MAX for the short; positions go up to max_len.
  TowerImpl(const ModelConfig& c, int64_t max_len);

  // x [B, L, H] (MoE output), position [B, L] recency (0 = padding) -> CLS output [B, H].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& position);

  // Re-initialises the blocks so that the tower starts as (nearly) a mean pooling of its input:
  // queries and keys small (attention close to uniform over the valid positions), values and
  // the output projection close to the identity on the first H inner dimensions, the other
  // weights of the residual branches scaled down. Training then starts from the baseline the
  // model has to beat instead of from a random function of the sequence.
  void start_as_mean_pooling();

  torch::Tensor cls;
  torch::nn::Embedding pos{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  std::vector<Block> block_modules_;
};
TORCH_MODULE(Tower);

}  // namespace lti
