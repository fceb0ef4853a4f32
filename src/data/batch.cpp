#include "lti/data/batch.h"

#include <algorithm>

#include "lti/data/sequences.h"
#include "lti/util/rng.h"

namespace lti {

SequenceBatch make_batch(const EncodedDataset& data, const std::vector<RowRange>& sequences,
                         size_t max_len, size_t min_len, const std::vector<int64_t>& hour_shift) {
  SequenceBatch b;
  b.batch = static_cast<int64_t>(sequences.size());
  size_t longest = 0;
  for (const auto& s : sequences) longest = std::max(longest, keep_most_recent(s, max_len).size());
  b.length = static_cast<int64_t>(std::max(min_len, longest));

  const size_t cells = static_cast<size_t>(b.batch * b.length);
  for (auto* v : {&b.item, &b.category, &b.behavior, &b.weekday, &b.hour, &b.weekend, &b.position})
    v->assign(cells, 0);
  b.continuous.assign(cells * 2, 0.0f);

  for (int64_t row = 0; row < b.batch; ++row) {
    const RowRange kept = keep_most_recent(sequences[row], max_len);
    if (kept.size() == 0) continue;
    const UnixHour t_first = data.time[kept.begin];
    const UnixHour t_last = data.time[kept.end - 1];
    const float span = static_cast<float>(std::max<int64_t>(int64_t{t_last} - t_first, 1));
    const int64_t pad = b.length - static_cast<int64_t>(kept.size());
    const int64_t shift = hour_shift.empty() ? 0 : hour_shift[static_cast<size_t>(row)];
    for (uint64_t r = kept.begin; r < kept.end; ++r) {
      const int64_t col = pad + static_cast<int64_t>(r - kept.begin);
      const size_t cell = static_cast<size_t>(row * b.length + col);
      const UnixHour t = data.time[r];
      const auto calendar = static_cast<UnixHour>(int64_t{t} + shift);
      b.item[cell] = data.item[r];
      b.category[cell] = data.category[r];
      b.behavior[cell] = data.behavior[r];
      b.weekday[cell] = weekday_feature(calendar);
      b.hour[cell] = hour_feature(calendar);
      b.weekend[cell] = weekend_feature(calendar);
      b.position[cell] = static_cast<int64_t>(kept.end - r);
      b.continuous[cell * 2] = static_cast<float>(t - t_first) / span;
      b.continuous[cell * 2 + 1] = static_cast<float>(t_last - t) / span;
    }
  }
  return b;
}

int64_t moved_short_hours(uint64_t seed, uint64_t stream) {
  constexpr uint64_t kHoursPerWeek = 7 * 24;
  Rng rng(seed ^ 0x6d6f766564ULL, stream);  // "moved"
  return 1 + static_cast<int64_t>(rng.below(kHoursPerWeek - 1));
}

}  // namespace lti
