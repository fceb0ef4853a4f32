#include "adam_kernel.h"

#include <cmath>

namespace lti {

// One clone per instruction set; the loader picks the widest this CPU runs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void adam_update(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
                 float* __restrict exp_avg_sq, int64_t n, const AdamCoefficients& c) {
  const AdamCoefficients k = c;  // by value: the loop must not reload it through the pointer
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float m = exp_avg[i] * k.beta1 + g * k.one_minus_beta1;
    const float v = exp_avg_sq[i] * k.beta2 + g * g * k.one_minus_beta2;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] += k.neg_step_size * (m / (std::sqrt(v) / k.sqrt_bias_correction2 + k.eps));
  }
}

}  // namespace lti
