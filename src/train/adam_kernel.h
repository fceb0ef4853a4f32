// The element-wise Adam update, kept free of LibTorch so that it can be compiled with
// vectorisation and run-time dispatch to the CPU's widest instructions.
#pragma once

#include <cstdint>

namespace lti {

struct AdamCoefficients {
  float beta1, beta2;  // moment decays
  float one_minus_beta1, one_minus_beta2;
  float sqrt_bias_correction2;  // sqrt(1 - beta2^step)
  float eps;
  float neg_step_size;  // -lr / (1 - beta1^step)
};

// For i in [0, n): m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// p += neg_step_size * m / (sqrt(v) / sqrt_bias_correction2 + eps), as torch::optim::Adam.
void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                 const AdamCoefficients& c);

}  // namespace lti
