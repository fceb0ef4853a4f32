#include "lti/train/adam.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "adam_kernel.h"

namespace lti {

namespace {

// A contiguous fp32 CPU parameter with a dense gradient of the same kind.
bool takes_one_pass(const torch::Tensor& p) {
  const auto& grad = p.grad();
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat &&
         grad.scalar_type() == torch::kFloat && !grad.is_sparse() && p.is_contiguous() &&
         grad.is_contiguous();
}

}  // namespace

torch::optim::AdamParamState& Adam::state_of(const torch::Tensor& p) {
  auto& slot = state_[p.unsafeGetTensorImpl()];  // torch::optim's key: the TensorImpl
  if (!slot) {                                   // as torch::optim::Adam initialises it
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(0);
    state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    slot = std::move(state);
  }
  return static_cast<torch::optim::AdamParamState&>(*slot);
}

torch::Tensor Adam::step(LossClosure closure) {
  // Anything the one pass does not cover takes LibTorch's step whole: a closure (which makes
  // the gradients), amsgrad, weight decay, or a parameter that is not contiguous fp32 on a CPU.
  bool one_pass = !closure;
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    one_pass = one_pass && !o.amsgrad() && o.weight_decay() == 0;
    for (const auto& p : group.params())
      one_pass = one_pass && (!p.grad().defined() || takes_one_pass(p));
  }
  if (!one_pass) return torch::optim::Adam::step(std::move(closure));

  torch::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& state = state_of(p);
      state.step(state.step() + 1);
      const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(state.step()));
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      // The moments are made like the parameter (zeros_like), so contiguous; one loaded from
      // an optimiser file could be otherwise.
      auto exp_avg = state.exp_avg().contiguous(), exp_avg_sq = state.exp_avg_sq().contiguous();
      state.exp_avg(exp_avg);
      state.exp_avg_sq(exp_avg_sq);
      const AdamCoefficients c{static_cast<float>(beta1),
                               static_cast<float>(beta2),
                               static_cast<float>(1 - beta1),
                               static_cast<float>(1 - beta2),
                               static_cast<float>(std::sqrt(bias_correction2)),
                               static_cast<float>(o.eps()),
                               static_cast<float>(-o.lr() / bias_correction1)};
      float* param = p.data_ptr<float>();
      const float* g = p.grad().data_ptr<float>();
      float* m = exp_avg.data_ptr<float>();
      float* v = exp_avg_sq.data_ptr<float>();
      constexpr int64_t kGrain = 1 << 15;  // 128 KiB of each array per task
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
        adam_update(param + begin, g + begin, m + begin, v + begin, end - begin, c);
      });
    }
  }
  return {};
}

}  // namespace lti
