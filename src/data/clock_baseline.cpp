#include "lti/data/clock_baseline.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <stdexcept>

namespace lti {

namespace {
constexpr int kHoursPerWeek = 7 * 24;
}

int hour_of_week(UnixHour hour) { return (weekday_of(hour) - 1) * 24 + hour_of_day(hour); }

int hour_of_week_distance(int a, int b) {
  const int d = std::abs(a - b) % kHoursPerWeek;
  return std::min(d, kHoursPerWeek - d);
}

std::vector<size_t> clock_ranks(const std::vector<int>& long_last,
                                const std::vector<int>& short_first) {
  if (long_last.size() != short_first.size())
    throw std::invalid_argument("clock_ranks: one long and one short hour per user");
  // How many short parts begin at each hour of week: a query then counts, hour by hour, the
  // short parts at least as close as its own (n x 168 steps, not n x n).
  std::array<size_t, kHoursPerWeek> starting_at{};
  for (const int h : short_first) ++starting_at.at(static_cast<size_t>(h));
  std::vector<size_t> ranks(long_last.size());
  for (size_t i = 0; i < long_last.size(); ++i) {
    const int own = hour_of_week_distance(long_last[i], short_first[i]);
    size_t as_close = 0;  // the user's own short part among them
    for (int h = 0; h < kHoursPerWeek; ++h)
      if (hour_of_week_distance(long_last[i], h) <= own)
        as_close += starting_at[static_cast<size_t>(h)];
    ranks[i] = as_close;  // 1 (the own) + the others at least as close
  }
  return ranks;
}

}  // namespace lti
