#include "lti/train/objective.h"

#include <numeric>
#include <stdexcept>

namespace lti {

torch::Tensor bpr_loss(const torch::Tensor& long_vec, const torch::Tensor& short_vec,
                       const torch::Tensor& negative_index, double scale) {
  namespace F = torch::nn::functional;
  const auto opts = F::CosineSimilarityFuncOptions().dim(1);
  const auto positive = F::cosine_similarity(long_vec, short_vec, opts);
  const auto negative =
      F::cosine_similarity(long_vec, short_vec.index_select(0, negative_index), opts);
  return torch::softplus(-scale * (positive - negative)).mean();
}

torch::Tensor softmax_loss(const torch::Tensor& long_vec, const torch::Tensor& short_vec,
                           double temperature, int64_t target_offset) {
  namespace F = torch::nn::functional;
  const auto l = F::normalize(long_vec, F::NormalizeFuncOptions().dim(1));
  const auto s = F::normalize(short_vec, F::NormalizeFuncOptions().dim(1));
  const auto logits = torch::matmul(l, s.t()) / temperature;  // [B, B_all]
  const auto target = torch::arange(target_offset, target_offset + long_vec.size(0),
                                    logits.options().dtype(torch::kInt64));
  return F::cross_entropy(logits, target);
}

std::vector<int64_t> random_derangement(int64_t n, Rng& rng) {
  if (n < 2) throw std::invalid_argument("a derangement needs at least two elements");
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (;;) {  // rejection: about e tries on average, uniform over derangements
    std::iota(p.begin(), p.end(), 0);
    for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[rng.below(static_cast<uint64_t>(i + 1))]);
    bool fixed = false;
    for (int64_t i = 0; i < n && !fixed; ++i) fixed = p[i] == i;
    if (!fixed) return p;
  }
}

double separation(const torch::Tensor& long_vec, const torch::Tensor& short_vec) {
  const int64_t n = long_vec.size(0);
  if (n < 2) return 0.0;
  const auto l = torch::nn::functional::normalize(
      long_vec, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto s = torch::nn::functional::normalize(
      short_vec, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto sim = torch::matmul(l, s.t());
  const double own = sim.diagonal().sum().item<double>();
  const double all = sim.sum().item<double>();
  return own / n - (all - own) / (n * (n - 1));
}

}  // namespace lti
