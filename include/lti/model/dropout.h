// Dropout with a counter-based random mask, for CPU tensors.
#pragma once

#include <torch/torch.h>

namespace lti {

// In training, each element is zeroed with probability p and the others scaled by 1 / (1 - p),
// as torch::nn::Dropout does. On a CPU, LibTorch 1.13 (without MKL) draws that mask with one
// serial Mersenne-Twister call per element (bernoulli_): 9% of the operator time of a bf16
// training step on the Tianchi preset. Here element i is kept when SplitMix64(seed + i) >= p *
// 2^64, in parallel, with one seed a call drawn from LibTorch's default generator (so
// torch::manual_seed still makes a run repeatable). Other devices use torch::dropout. A module
// without parameters: state dicts are those of torch::nn::Dropout.
class DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double p_;
};
TORCH_MODULE(Dropout);

}  // namespace lti
