#include "lti/model/dropout.h"

#include <ATen/Parallel.h>

#include <limits>

namespace lti {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// noise[i] = 0 with probability p, else 1 / (1 - p).
template <typename T>
void fill_noise(torch::Tensor& noise, double p, uint64_t seed) {
  T* const out = noise.data_ptr<T>();
  const auto dropped_below = static_cast<uint64_t>(p * 18446744073709551616.0);  // p * 2^64
  const T kept = static_cast<T>(1.0 / (1.0 - p)), dropped = static_cast<T>(0.0);
  at::parallel_for(0, noise.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      out[i] = splitmix64(seed + static_cast<uint64_t>(i)) < dropped_below ? dropped : kept;
  });
}

}  // namespace

DropoutImpl::DropoutImpl(double p) : p_(p) {
  TORCH_CHECK(p >= 0 && p < 1, "dropout rate must be in [0, 1)");
}

torch::Tensor DropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ == 0) return x;
  const auto type = x.scalar_type();
  if (!x.device().is_cpu() || (type != torch::kFloat && type != torch::kBFloat16))
    return torch::dropout(x, p_, /*train=*/true);
  const auto seed = static_cast<uint64_t>(
      torch::randint(std::numeric_limits<int64_t>::max(), {1}, torch::kInt64).item<int64_t>());
  auto noise = torch::empty(x.sizes(), x.options());  // a constant for autograd
  if (type == torch::kFloat)
    fill_noise<float>(noise, p_, seed);
  else
    fill_noise<c10::BFloat16>(noise, p_, seed);
  return x * noise;
}

}  // namespace lti
