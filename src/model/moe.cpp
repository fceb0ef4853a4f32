#include "lti/model/moe.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "lti/model/precision.h"

namespace lti {

ExpertImpl::ExpertImpl(int64_t hidden, int64_t expert_hidden, double dropout) {
  norm = register_module("norm",
                         torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden}).eps(1e-5)));
  w1 = register_module(
      "w1", torch::nn::Linear(torch::nn::LinearOptions(hidden, expert_hidden).bias(false)));
  w3 = register_module(
      "w3", torch::nn::Linear(torch::nn::LinearOptions(hidden, expert_hidden).bias(false)));
  w2 = register_module(
      "w2", torch::nn::Linear(torch::nn::LinearOptions(expert_hidden, hidden).bias(false)));
  drop = register_module("drop", Dropout(dropout));
}

torch::Tensor ExpertImpl::forward(const torch::Tensor& x) {
  const auto h = norm(x);
  return drop(w2(torch::silu(w1(h)) * w3(h)));
}

ExpertUsage ExpertUsage::from_counts(const std::vector<int64_t>& counts) {
  ExpertUsage u;
  const size_t e = counts.size();
  for (int64_t c : counts) u.activations += static_cast<uint64_t>(c);
  u.share.assign(e, 1.0);
  if (u.activations == 0 || e == 0) return u;
  double sum_sq = 0, entropy = 0;
  for (size_t i = 0; i < e; ++i) {
    u.share[i] = static_cast<double>(counts[i]) * e / u.activations;
    sum_sq += (u.share[i] - 1.0) * (u.share[i] - 1.0);
    const double p = static_cast<double>(counts[i]) / u.activations;
    if (p > 0) entropy -= p * std::log(p);
  }
  const auto [lo, hi] = std::minmax_element(u.share.begin(), u.share.end());
  u.min = *lo;
  u.max = *hi;
  u.least_used = lo - u.share.begin();
  u.most_used = hi - u.share.begin();
  u.cv = std::sqrt(sum_sq / e);  // the mean share is 1
  u.entropy_ratio = e > 1 ? entropy / std::log(static_cast<double>(e)) : 1.0;
  return u;
}

std::string ExpertUsage::summary() const {
  return fmt::format("experts min {:.2f} max {:.2f} cv {:.3f} entropy {:.3f} most #{} least #{}",
                     min, max, cv, entropy_ratio, most_used, least_used);
}

ExpertUsage ExpertUsage::from_json(const nlohmann::json& j) {
  ExpertUsage u;
  u.share = j.at("share").get<std::vector<double>>();
  u.activations = j.value("activations", uint64_t{0});
  u.min = j.value("min", 0.0);
  u.max = j.value("max", 0.0);
  u.cv = j.value("cv", 0.0);
  u.entropy_ratio = j.value("entropy_ratio", 0.0);
  u.most_used = j.value("most_used", int64_t{0});
  u.least_used = j.value("least_used", int64_t{0});
  return u;
}

nlohmann::json ExpertUsage::to_json() const {
  return {{"share", share},
          {"activations", activations},
          {"min", min},
          {"max", max},
          {"cv", cv},
          {"entropy_ratio", entropy_ratio},
          {"most_used", most_used},
          {"least_used", least_used}};
}

MoEImpl::MoEImpl(const ModelConfig& c) : config_(c) {
  gate = register_module(
      "gate", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_dim, c.moe_experts).bias(false)));
  experts = register_module("experts", torch::nn::ModuleList());
  shared = register_module("shared", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.moe_experts; ++i) {
    expert_modules_.emplace_back(c.hidden_dim, c.moe_hidden, c.moe_dropout);
    experts->push_back(expert_modules_.back());
  }
  for (int64_t j = 0; j < c.moe_shared; ++j) {
    shared_modules_.emplace_back(c.hidden_dim, c.moe_hidden, c.moe_dropout);
    shared->push_back(shared_modules_.back());
  }
  load = register_buffer("load", torch::ones({c.moe_experts}));
  bias = register_buffer("bias", torch::zeros({c.moe_experts}));
  counts_ = torch::zeros({c.moe_experts}, torch::kInt64);
  step_counts_ = torch::zeros({c.moe_experts}, torch::kInt64);
}

namespace {

// x [..., H] as fp32 rows, the rows of its valid positions (the only ones routed), and those
// rows: the tokens. The token stream stays fp32 under bf16 autocast: only the experts' products
// are bf16.
struct RoutedTokens {
  torch::Tensor flat, rows, tokens;
};
RoutedTokens routed_tokens(const torch::Tensor& x, const torch::Tensor& valid) {
  RoutedTokens t;
  t.flat = x.reshape({-1, x.size(-1)}).to(torch::kFloat);
  t.rows = valid.reshape({-1}).nonzero().squeeze(-1);
  t.tokens = t.flat.index_select(0, t.rows);  // [T, H]
  return t;
}

std::vector<int64_t> to_vector(const torch::Tensor& counts) {
  const auto c = counts.to(torch::kCPU, torch::kInt64).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

Routing MoEImpl::route(const torch::Tensor& tokens) {
  // Routing is decided in fp32 even under bf16 autocast: rounding the affinities would change
  // which experts win a close top-k, and with it the balance statistics.
  const NoAutocast fp32;
  const auto affinity = torch::sigmoid(gate(tokens));  // [T, E]
  // Balancing only chooses experts; the gate values below come from the raw affinity.
  torch::Tensor score = affinity;
  if (config_.moe_balance == "bias") {
    score = affinity + bias;
  } else if (config_.moe_balance == "divide") {
    score = affinity / load.clamp_min(config_.moe_load_floor).pow(config_.moe_balance_power);
  }
  const auto chosen = std::get<1>(score.detach().topk(config_.moe_activated, /*dim=*/-1));
  auto gates = affinity.gather(-1, chosen);
  gates = gates / gates.sum(-1, /*keepdim=*/true);
  return {chosen, gates};
}

torch::Tensor MoEImpl::forward(const torch::Tensor& x, const torch::Tensor& valid) {
  const auto [flat, token_rows, tokens] = routed_tokens(x, valid);
  if (tokens.size(0) == 0) return flat.view(x.sizes());

  auto out = tokens;
  for (auto& expert : shared_modules_) out = out + expert->forward(tokens);

  const Routing routing = route(tokens);
  const int64_t k = routing.experts.size(1);
  // Dispatch: sort the (token, expert) pairs by expert, run each expert once on all of its
  // tokens, and scatter the gated outputs back with index_add.
  const auto pair_expert = routing.experts.reshape({-1});
  const auto pair_token = torch::arange(tokens.size(0), pair_expert.options()).repeat_interleave(k);
  const auto pair_gate = routing.gates.reshape({-1, 1});
  const auto order = pair_expert.argsort();
  const auto per_expert = torch::bincount(pair_expert, {}, config_.moe_experts);
  if (is_training()) {
    torch::NoGradGuard no_grad;
    counts_ = counts_.to(per_expert.device()) + per_expert;
    step_counts_ = step_counts_.to(per_expert.device()) + per_expert;
  }
  // One gather of every pair's token in expert order, cut into one view per expert: its
  // backward is a single index_add, where one index_select per expert would each produce a
  // zero-filled [T, H] gradient to be summed.
  const std::vector<int64_t> sizes = to_vector(per_expert);
  const auto sorted_token = pair_token.index_select(0, order);
  const auto expert_inputs = tokens.index_select(0, sorted_token).split_with_sizes(sizes, 0);
  std::vector<torch::Tensor> outputs;
  for (int64_t e = 0; e < config_.moe_experts; ++e)
    if (sizes[static_cast<size_t>(e)] > 0)
      outputs.push_back(expert_modules_[e]->forward(expert_inputs[static_cast<size_t>(e)]));
  const auto sorted_gate = pair_gate.index_select(0, order);
  const auto routed =
      torch::zeros_like(tokens).index_add(0, sorted_token, torch::cat(outputs, 0) * sorted_gate);
  out = out + routed;
  return flat.index_copy(0, token_rows, out).view(x.sizes());
}

void MoEImpl::update_bias(const std::function<void(torch::Tensor&)>& combine_counts) {
  torch::NoGradGuard no_grad;
  if (config_.moe_balance == "bias") {
    if (combine_counts) combine_counts(step_counts_);
    apply_bias_rule(bias, step_counts_);
  }
  step_counts_ = torch::zeros_like(step_counts_);
}

void MoEImpl::apply_bias_rule(torch::Tensor& b, const torch::Tensor& counts) const {
  const auto c = counts.to(b.device(), torch::kFloat32);
  // An expert used less than the mean gains, one used more loses; the re-centring keeps the
  // bias from drifting as a whole (top-k is blind to a common shift).
  b.add_(torch::sign(c.mean() - c) * config_.moe_bias_rate);
  b.sub_(b.mean());
}

std::optional<ExpertUsage> MoEImpl::calibrate_bias(const torch::Tensor& x,
                                                   const torch::Tensor& valid, int64_t iterations) {
  if (config_.moe_balance != "bias") return std::nullopt;
  const torch::Tensor tokens = routed_tokens(x, valid).tokens;
  if (tokens.size(0) == 0) return std::nullopt;
  torch::NoGradGuard no_grad;
  const NoAutocast fp32;
  // route()'s choice under a trial bias; the affinities are computed once, as nothing trains.
  const auto affinity = torch::sigmoid(gate(tokens));  // [T, E]
  auto counts_under = [&](const torch::Tensor& b) {
    const auto chosen = std::get<1>((affinity + b).topk(config_.moe_activated, /*dim=*/-1));
    return torch::bincount(chosen.reshape({-1}), {}, config_.moe_experts);
  };
  auto trial = bias.clone();
  auto counts = counts_under(trial);
  ExpertUsage best = ExpertUsage::from_counts(to_vector(counts));
  for (int64_t i = 0; i < iterations; ++i) {
    apply_bias_rule(trial, counts);
    counts = counts_under(trial);
    const ExpertUsage usage = ExpertUsage::from_counts(to_vector(counts));
    if (usage.cv < best.cv) {
      best = usage;
      bias.copy_(trial);
    }
  }
  return best;
}

void MoEImpl::begin_epoch() {
  torch::NoGradGuard no_grad;
  if (next_load_.defined() && config_.moe_balance == "divide")
    load.copy_(next_load_.to(load.device()));
  counts_ = torch::zeros({config_.moe_experts},
                         torch::TensorOptions(torch::kInt64).device(load.device()));
  step_counts_ = torch::zeros_like(counts_);
}

ExpertUsage MoEImpl::end_epoch(const std::function<void(torch::Tensor&)>& combine_counts) {
  if (combine_counts) combine_counts(counts_);
  const ExpertUsage usage = ExpertUsage::from_counts(activation_counts());
  if (usage.activations > 0) {
    set_next_load(usage.share);
    if (config_.moe_balance != "divide") {
      torch::NoGradGuard no_grad;
      load.copy_(next_load_.to(load.device()));
    }
  }
  return usage;
}

void MoEImpl::set_next_load(const std::vector<double>& share) {
  next_load_ = torch::tensor(share, torch::kFloat64).to(torch::kFloat32);
}

std::vector<int64_t> MoEImpl::activation_counts() const { return to_vector(counts_); }

}  // namespace lti
