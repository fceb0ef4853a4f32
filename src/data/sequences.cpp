#include "lti/data/sequences.h"

#include <algorithm>

#include "lti/util/errors.h"

namespace lti {

std::string SplitRule::name() const { return kind == Kind::kGap ? "gap" : "count"; }

SplitRule SplitRule::named(const std::string& name, int min_gap_hours, const std::string& option) {
  if (name == "count") return count();
  if (name != "gap") throw Error(kExitUsage, option + " must be count or gap, not '" + name + "'");
  if (min_gap_hours <= 0) throw Error(kExitUsage, "--min_gap_hours must be positive");
  return gap(min_gap_hours);
}

UserSplit split_user(const EncodedDataset& data, RowRange rows, const SplitRule& rule) {
  if (rule.kind == SplitRule::Kind::kCount) return split_user(rows);
  // A pause before row i is time[i] - time[i - 1] >= min_gap_hours; the rows are sorted by time
  // within the user.
  const auto pause_before = [&](uint64_t i) {
    return static_cast<int64_t>(data.time[i]) - static_cast<int64_t>(data.time[i - 1]) >=
           rule.min_gap_hours;
  };
  const uint64_t ninety =
      std::max<uint64_t>(rows.begin + long_part_size(rows.size()), rows.begin + 1);
  uint64_t start = ninety;
  while (start < rows.end && !pause_before(start)) ++start;
  if (start >= rows.end) {
    // No pause at or after the 90% point: the last one before it, if the long part keeps at
    // least half of the history.
    const uint64_t half = std::max<uint64_t>(rows.begin + rows.size() / 2, rows.begin + 1);
    start = rows.end;
    for (uint64_t i = ninety; i-- > half;)
      if (pause_before(i)) {
        start = i;
        break;
      }
    if (start >= rows.end) return {{rows.begin, rows.begin}, {rows.begin, rows.begin}};
  }
  return {{rows.begin, start}, {start, rows.end}};
}

}  // namespace lti
