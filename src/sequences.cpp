#include "lti/sequences.h"

#include <algorithm>

namespace lti {

std::string SplitRule::name() const { return kind == Kind::kGap ? "gap" : "count"; }

UserSplit split_user(const EncodedDataset& data, RowRange rows, const SplitRule& rule) {
  if (rule.kind == SplitRule::Kind::kCount) return split_user(rows);
  // The first gap of at least min_gap_hours at or after the 90% point (a gap before row i is
  // time[i] - time[i - 1]); the rows are sorted by time within the user.
  const auto gap_before = [&](uint64_t i) {
    return static_cast<int64_t>(data.time[i]) - static_cast<int64_t>(data.time[i - 1]) >=
           rule.min_gap_hours;
  };
  uint64_t start = std::max<uint64_t>(rows.begin + long_part_size(rows.size()), rows.begin + 1);
  while (start < rows.end && !gap_before(start)) ++start;
  if (start >= rows.end) return {{rows.begin, rows.begin}, {rows.begin, rows.begin}};
  uint64_t end = start + 1;
  while (end < rows.end && !gap_before(end)) ++end;
  return {{rows.begin, start}, {start, end}};
}

}  // namespace lti
