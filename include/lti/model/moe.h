// DeepSeek-V3-style mixture-of-experts layer with epoch-level load balancing (SPEC 4.2).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lti/model/dropout.h"
#include "lti/model/model_config.h"

namespace lti {

// LayerNorm, then SwiGLU w2(silu(w1 x) * w3 x) without biases, then dropout.
class ExpertImpl : public torch::nn::Module {
 public:
  ExpertImpl(int64_t hidden, int64_t expert_hidden, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear w1{nullptr}, w3{nullptr}, w2{nullptr};
  Dropout drop{nullptr};
};
TORCH_MODULE(Expert);

// The distribution of expert activations over one epoch.
struct ExpertUsage {
  std::vector<double> share;  // per expert, relative to uniform: 1.0 = a fair share; sums to E
  uint64_t activations = 0;
  double min = 0, max = 0, cv = 0;  // coefficient of variation of the shares
  double entropy_ratio = 0;         // entropy / log(E): 1.0 = perfectly even
  int64_t most_used = 0, least_used = 0;

  static ExpertUsage from_counts(const std::vector<int64_t>& counts);
  std::string summary() const;
  nlohmann::json to_json() const;
  static ExpertUsage from_json(const nlohmann::json& j);  // as to_json wrote it
};

// Experts chosen for each token and their gate values.
struct Routing {
  torch::Tensor experts;  // [T, k] int64
  torch::Tensor gates;    // [T, k] float, sum to 1 per token
};

class MoEImpl : public torch::nn::Module {
 public:
  explicit MoEImpl(const ModelConfig& config);

  // x [B, L, H], valid [B, L] bool -> [B, L, H]. Padding positions are neither routed nor
  // counted: their output is their input. In training mode activations are counted.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& valid);

  // Routing of tokens [T, H] by their sigmoid affinities s: top-k of s + bias ("bias"), of
  // s / max(load, floor)^power ("divide") or of s ("none"). The gates are the chosen s
  // normalised over the k chosen: balancing changes which experts, never their gate values.
  Routing route(const torch::Tensor& tokens);

  // DeepSeek-V3's auxiliary-loss-free balancing, after every training step ("bias" only):
  // bias_i += rate * sign(mean(c) - c_i) from this step's counts c, then re-centred to mean 0.
  // `combine_counts`, in distributed training, sums every rank's step counts in place.
  void update_bias(const std::function<void(torch::Tensor&)>& combine_counts = nullptr);

  // Before the first training step ("bias" only; otherwise nothing happens and nullopt is
  // returned): the rule of update_bias() repeated `iterations` times on the routing of the
  // valid tokens of x [..., H] (the MoE's input, as forward() takes it), with no training in
  // between, keeping the most even bias it reaches. A fresh gate favours a few experts by about
  // 0.1 of affinity, which the rule takes 10-20 steps to undo, one per step: on a small data set
  // (2 steps an epoch) that was the first 3-4 epochs. Returns the experts' usage of these tokens
  // under the bias kept.
  std::optional<ExpertUsage> calibrate_bias(const torch::Tensor& x, const torch::Tensor& valid,
                                            int64_t iterations = 200);

  // Epoch-level view: begin_epoch() resets the counts ("divide": and puts the shares of the
  // previous epoch in force as `load`); end_epoch() computes this epoch's shares (for "bias" and
  // "none" they are stored in `load` at once: there they are a record, not a routing input).
  void begin_epoch();
  // `combine_counts`, in distributed training, sums every rank's counts in place, so that every
  // rank computes the same shares and routes the next epoch with the same load.
  ExpertUsage end_epoch(const std::function<void(torch::Tensor&)>& combine_counts = nullptr);
  // Shares to use from the next begin_epoch() (for --resume).
  void set_next_load(const std::vector<double>& share);
  std::vector<int64_t> activation_counts() const;

  torch::nn::Linear gate{nullptr};
  torch::nn::ModuleList experts{nullptr}, shared{nullptr};
  torch::Tensor load;  // buffer [E]: relative shares of the last epoch (saved in moe_layer.pth)
  torch::Tensor bias;  // buffer [E]: the balancing bias of "bias" (saved in moe_layer.pth)

 private:
  // update_bias()'s rule on `b` for activation counts `counts`: b += rate * sign(mean - count),
  // then re-centred to mean 0.
  void apply_bias_rule(torch::Tensor& b, const torch::Tensor& counts) const;

  ModelConfig config_;
  torch::Tensor counts_;       // [E] int64, activations this epoch (not saved)
  torch::Tensor step_counts_;  // [E] int64, activations since the last update_bias()
  torch::Tensor next_load_;    // shares for the next epoch, or undefined
  std::vector<Expert> expert_modules_, shared_modules_;
};
TORCH_MODULE(MoE);

}  // namespace lti
