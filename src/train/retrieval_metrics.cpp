#include "lti/train/retrieval_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "lti/util/rng.h"

namespace lti {

namespace {

// What one user at `rank` adds to Recall@10 and to MRR (each figure is their mean).
double hit_at_10(size_t rank) { return rank <= 10 ? 1.0 : 0.0; }
double reciprocal_of(size_t rank) { return 1.0 / static_cast<double>(rank); }

// The standard error of the mean of `sum` and `sum_sq` over n values (sample variance).
double standard_error(double sum, double sum_sq, size_t n) {
  if (n < 2) return 0;
  const double dn = static_cast<double>(n), mean = sum / dn;
  const double variance = std::max(0.0, (sum_sq - dn * mean * mean) / (dn - 1));
  return std::sqrt(variance / dn);
}

double ratio_of(double numerator, double denominator) {
  if (denominator > 0) return numerator / denominator;
  return numerator > 0 ? std::numeric_limits<double>::infinity() : 1.0;
}

// The value at share q of sorted values (nearest rank).
double percentile(const std::vector<double>& sorted, double q) {
  const auto last = static_cast<double>(sorted.size() - 1);
  return sorted[static_cast<size_t>(std::lround(q * last))];
}

}  // namespace

nlohmann::json RetrievalMetrics::to_json() const {
  return {{"recall@1", recall_at_1},
          {"recall@10", recall_at_10},
          {"recall@50", recall_at_50},
          {"mrr", mrr},
          {"recall@10_se", recall_at_10_se},
          {"mrr_se", mrr_se},
          {"users", users}};
}

RetrievalMetrics chance_metrics(size_t n) {
  RetrievalMetrics m;
  m.users = n;
  if (n == 0) return m;
  const double dn = static_cast<double>(n);
  m.recall_at_1 = std::min(1.0, 1 / dn);
  m.recall_at_10 = std::min(1.0, 10 / dn);
  m.recall_at_50 = std::min(1.0, 50 / dn);
  double harmonic = 0;
  for (size_t r = 1; r <= n; ++r) harmonic += 1.0 / r;
  m.mrr = harmonic / dn;
  return m;
}

RetrievalMetrics metrics_from_ranks(const std::vector<size_t>& ranks) {
  RetrievalMetrics m;
  m.users = ranks.size();
  if (ranks.empty()) return m;
  double hits1 = 0, hits10 = 0, hits50 = 0, reciprocal = 0, reciprocal_sq = 0;
  for (const size_t r : ranks) {
    hits1 += r <= 1;
    hits10 += hit_at_10(r);
    hits50 += r <= 50;
    const double rr = reciprocal_of(r);
    reciprocal += rr;
    reciprocal_sq += rr * rr;
  }
  const auto n = static_cast<double>(ranks.size());
  m.recall_at_1 = hits1 / n;
  m.recall_at_10 = hits10 / n;
  m.recall_at_50 = hits50 / n;
  m.mrr = reciprocal / n;
  m.recall_at_10_se = standard_error(hits10, hits10, ranks.size());  // a hit squared is a hit
  m.mrr_se = standard_error(reciprocal, reciprocal_sq, ranks.size());
  return m;
}

nlohmann::json RatioInterval::to_json() const {
  // JSON has no infinity: a ratio over a ranker that scored 0 is written as null.
  auto finite = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
  return {{"ratio", finite(ratio)}, {"low", finite(low)}, {"high", finite(high)}};
}

nlohmann::json PairedRatios::to_json() const {
  return {{"recall@10", recall_at_10.to_json()},
          {"mrr", mrr.to_json()},
          {"users", users},
          {"resamples", resamples}};
}

PairedRatios paired_ratios(const std::vector<size_t>& a, const std::vector<size_t>& b,
                           size_t max_resamples, uint64_t seed) {
  if (a.size() != b.size())
    throw std::invalid_argument("paired_ratios: both rankers must rank the same users");
  PairedRatios out;
  out.users = a.size();
  if (a.empty() || max_resamples == 0) return out;
  const size_t n = a.size();
  std::vector<double> hit_a(n), hit_b(n), rr_a(n), rr_b(n);
  double sum_hit_a = 0, sum_hit_b = 0, sum_rr_a = 0, sum_rr_b = 0;
  for (size_t i = 0; i < n; ++i) {
    hit_a[i] = hit_at_10(a[i]), hit_b[i] = hit_at_10(b[i]);
    rr_a[i] = reciprocal_of(a[i]), rr_b[i] = reciprocal_of(b[i]);
    sum_hit_a += hit_a[i], sum_hit_b += hit_b[i], sum_rr_a += rr_a[i], sum_rr_b += rr_b[i];
  }
  out.recall_at_10.ratio = ratio_of(sum_hit_a, sum_hit_b);
  out.mrr.ratio = ratio_of(sum_rr_a, sum_rr_b);
  constexpr size_t kMaxDraws = 20'000'000, kMinResamples = 200;
  out.resamples = std::min(max_resamples, std::max(kMinResamples, kMaxDraws / n));
  Rng rng(seed, 0xB007);
  std::vector<double> recall_ratios, mrr_ratios;
  recall_ratios.reserve(out.resamples);
  mrr_ratios.reserve(out.resamples);
  for (size_t s = 0; s < out.resamples; ++s) {
    double ha = 0, hb = 0, ra = 0, rb = 0;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = rng.below(n);
      ha += hit_a[i], hb += hit_b[i], ra += rr_a[i], rb += rr_b[i];
    }
    recall_ratios.push_back(ratio_of(ha, hb));
    mrr_ratios.push_back(ratio_of(ra, rb));
  }
  std::sort(recall_ratios.begin(), recall_ratios.end());
  std::sort(mrr_ratios.begin(), mrr_ratios.end());
  out.recall_at_10.low = percentile(recall_ratios, 0.025);
  out.recall_at_10.high = percentile(recall_ratios, 0.975);
  out.mrr.low = percentile(mrr_ratios, 0.025);
  out.mrr.high = percentile(mrr_ratios, 0.975);
  return out;
}

}  // namespace lti
