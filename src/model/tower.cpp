#include "lti/model/tower.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lti {

namespace {
torch::nn::LayerNorm layer_norm(int64_t h) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(1e-5));
}
// softmax(q k^T / sqrt(dh) with padded keys at -inf) v, written out. The [B, heads, Q, T] score
// tensor is the largest in the model: q is scaled instead of the scores, and the mask is added
// in place in the scores' own type (bfloat16 under autocast: an fp32 mask would make the add go
// through an fp32 copy). matmul keeps no copy of its output for backward, so that add is safe.
torch::Tensor explicit_attention(const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& v, const torch::Tensor& key_valid) {
  const int64_t b = q.size(0), t = k.size(2);
  auto scores =
      torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(q.size(-1)))), k.transpose(-2, -1));
  scores.add_(torch::zeros({b, 1, 1, t}, scores.options())
                  .masked_fill(key_valid.logical_not().view({b, 1, 1, t}),
                               -std::numeric_limits<float>::infinity()));
  return torch::matmul(torch::softmax(scores, -1), v);  // softmax accumulates in fp32
}

}  // namespace

AttentionImpl::AttentionImpl(int64_t hidden, int64_t heads, int64_t dim_head)
    : heads_(heads), dim_head_(dim_head) {
  qkv = register_module(
      "qkv", torch::nn::Linear(torch::nn::LinearOptions(hidden, 3 * heads * dim_head).bias(false)));
  out = register_module("out", torch::nn::Linear(heads * dim_head, hidden));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_valid,
                                     int64_t queries) {
  const int64_t b = x.size(0), t = x.size(1), inner = heads_ * dim_head_;
  // qkv rows: all heads' q, then k, then v; head-major inside each (Appendix A). k and v come
  // out by unbind, whose backward stacks their gradients (select's would zero-fill a
  // [2, B, heads, T, dh] tensor for each of them, then add the two).
  const auto kv = torch::nn::functional::linear(x, qkv->weight.narrow(0, inner, 2 * inner))
                      .view({b, t, 2, heads_, dim_head_})
                      .permute({2, 0, 3, 1, 4})  // [2, B, heads, T, dh]
                      .unbind(0);
  const auto q =
      torch::nn::functional::linear(x.narrow(1, 0, queries), qkv->weight.narrow(0, 0, inner))
          .view({b, queries, heads_, dim_head_})
          .transpose(1, 2);  // [B, heads, Q, dh]
  // The fused kernel: flash attention on the CPU (it takes this boolean padding mask in fp32 and
  // bf16) and flash / memory-efficient attention on CUDA. One exception, measured
  // (docs/performance.md): the CPU flash kernel's backward in bfloat16 is slower than two
  // oneDNN bf16 batched products and a softmax, so a CPU bf16 step that records a graph takes the
  // explicit form. Both compute softmax(q k^T / sqrt(dh) + mask) v.
  const bool explicit_form =
      x.is_cpu() && q.scalar_type() == torch::kBFloat16 && torch::GradMode::is_enabled();
  const auto context = explicit_form ? explicit_attention(q, kv[0], kv[1], key_valid)
                                     : at::scaled_dot_product_attention(
                                           q, kv[0], kv[1], key_valid.view({b, 1, 1, t}));
  return out(context.transpose(1, 2).reshape({b, queries, inner}));
}

FeedForwardImpl::FeedForwardImpl(int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(hidden, 4 * hidden));
  fc2 = register_module("fc2", torch::nn::Linear(4 * hidden, hidden));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  return fc2(torch::gelu(fc1(x)));  // exact (erf) GELU
}

BlockImpl::BlockImpl(const ModelConfig& c) {
  attn_norm = register_module("attn_norm", layer_norm(c.hidden_dim));
  attn = register_module("attn", Attention(c.hidden_dim, c.heads, c.dim_head));
  ff_norm = register_module("ff_norm", layer_norm(c.hidden_dim));
  ff = register_module("ff", FeedForward(c.hidden_dim));
  drop = register_module("drop", Dropout(c.dropout));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& key_valid,
                                 int64_t queries) {
  auto h = x.narrow(1, 0, queries) + drop(attn(attn_norm(x), key_valid, queries));
  return h + drop(ff(ff_norm(h)));
}

TowerImpl::TowerImpl(const ModelConfig& c, int64_t max_len) {
  cls = register_parameter("cls", torch::randn({c.hidden_dim}) * 0.02);
  pos = register_module("pos", torch::nn::Embedding(max_len + 1, c.hidden_dim));
  {
    torch::NoGradGuard no_grad;
    pos->weight.normal_(0.0, 0.02);
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.depth; ++l) {
    block_modules_.emplace_back(c);
    blocks->push_back(block_modules_.back());
  }
  norm = register_module("norm", layer_norm(c.hidden_dim));
}

void TowerImpl::start_as_mean_pooling() {
  torch::NoGradGuard no_grad;
  constexpr double kScale = 0.1;  // what is left of the random init: keeps every weight learning
  for (auto& block : block_modules_) {
    auto& qkv = block->attn->qkv->weight;  // [3 * inner, H]: q, k, v
    const int64_t inner = qkv.size(0) / 3, hidden = qkv.size(1);
    qkv.mul_(kScale);
    auto& out = block->attn->out->weight;  // [H, inner]
    out.mul_(kScale);
    const int64_t n = std::min(inner, hidden);
    qkv.narrow(0, 2 * inner, n).narrow(1, 0, n).diagonal().add_(1.0);  // value d = input d
    out.narrow(1, 0, n).diagonal().add_(1.0);  // and back to output dimension d
    block->ff->fc2->weight.mul_(kScale);
  }
}

torch::Tensor TowerImpl::forward(const torch::Tensor& x, const torch::Tensor& position) {
  const int64_t b = x.size(0), h = x.size(2);
  // CLS is position 0, the most recent interaction 1, the one before it 2, ...
  const auto cls_token = (cls + pos->weight[0]).view({1, 1, h}).expand({b, 1, h});
  auto seq = torch::cat({cls_token, x + pos(position)}, 1);  // [B, 1 + L, H]
  const auto key_valid =
      torch::cat({torch::ones({b, 1}, position.options().dtype(torch::kBool)), position.gt(0)}, 1);
  // Only the CLS output is read, so the last block computes the CLS position alone.
  for (size_t l = 0; l < block_modules_.size(); ++l) {
    const bool last = l + 1 == block_modules_.size();
    seq = block_modules_[l]->forward(seq, key_valid, last ? 1 : seq.size(1));
  }
  return norm(seq.select(1, 0));
}

}  // namespace lti
