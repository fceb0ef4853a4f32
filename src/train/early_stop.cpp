#include "lti/train/early_stop.h"

#include <algorithm>

#include <fmt/format.h>

namespace lti {

double recent_slope(const std::vector<double>& values, int64_t window) {
  const auto n = static_cast<int64_t>(
      std::min<size_t>(values.size(), static_cast<size_t>(std::max<int64_t>(window, 0))));
  if (n < 2) return 0;
  const size_t first = values.size() - static_cast<size_t>(n);
  const double mean_x = static_cast<double>(n - 1) / 2;
  double mean_y = 0;
  for (size_t i = first; i < values.size(); ++i) mean_y += values[i];
  mean_y /= static_cast<double>(n);
  double sxy = 0, sxx = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double dx = static_cast<double>(k) - mean_x;
    sxy += dx * (values[first + static_cast<size_t>(k)] - mean_y);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

double trailing_mean(const std::vector<double>& values, int64_t window) {
  const size_t n =
      std::min<size_t>(values.size(), static_cast<size_t>(std::max<int64_t>(window, 1)));
  if (n == 0) return 0;
  double sum = 0;
  for (size_t i = values.size() - n; i < values.size(); ++i) sum += values[i];
  return sum / static_cast<double>(n);
}

double EarlyStop::score(const std::vector<double>& val_mrr) const {
  return trailing_mean(val_mrr, best_window);
}

std::string EarlyStop::score_name() const {
  return best_window > 1 ? fmt::format("validation MRR over {} epochs", best_window)
                         : std::string("validation MRR");
}

bool EarlyStop::should_stop(const std::vector<double>& val_mrr, int64_t best_epoch) const {
  if (patience <= 0) return false;
  const auto epochs = static_cast<int64_t>(val_mrr.size());
  if (epochs - best_epoch < patience) return false;
  return trend_window <= 0 || recent_slope(val_mrr, trend_window) <= 0;
}

std::string EarlyStop::describe() const {
  if (patience <= 0)
    return best_window > 1 ? "no early stop; the epoch kept has the best " + score_name()
                           : std::string("no early stop");
  std::string s =
      fmt::format("early stop after {} epoch(s) without a better {}", patience, score_name());
  if (trend_window > 0)
    s += fmt::format(", once its trend over the last {} epochs no longer rises", trend_window);
  return s;
}

std::string EarlyStop::trend(const std::vector<double>& val_mrr) const {
  return fmt::format("its trend over the last {} epochs is {:+.4f} an epoch",
                     std::min<size_t>(val_mrr.size(), static_cast<size_t>(trend_window)),
                     recent_slope(val_mrr, trend_window));
}

}  // namespace lti
