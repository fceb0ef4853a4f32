// Adam whose CPU update makes one pass over each parameter.
#pragma once

#include <torch/torch.h>

namespace lti {

// The same algorithm, options and state (step, exp_avg, exp_avg_sq) as torch::optim::Adam, so
// optimiser files written by either load into the other. LibTorch's step makes eight
// parameter-sized passes and two parameter-sized temporaries (mul_, add_, mul_, addcmul_, sqrt,
// div, add_, addcdiv_): on the Tianchi preset the item table alone is 2.6 M x 64 floats, and
// that was about 10% of a bf16 training step. Here a contiguous fp32 CPU parameter is updated
// in one vectorised pass that reads the parameter, its gradient and both moments once and
// writes three of them back. A step with any other parameter (CUDA, other types, strided), a
// closure, amsgrad or weight decay is LibTorch's step, whole.
class Adam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  torch::optim::AdamParamState& state_of(const torch::Tensor& p);
};

}  // namespace lti
