// Padded per-interaction features of a batch of sequences (SPEC sections 3.4, 3.5, 4.3).
// Plain vectors, so the data pipeline needs no LibTorch; the model wraps them as tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "lti/data/dataset.h"

namespace lti {

// Row-major [batch, length] arrays (continuous: [batch, length, 2]). Padding is on the left,
// so the most recent interaction is the last column; every feature is 0 at padding.
struct SequenceBatch {
  int64_t batch = 0;
  int64_t length = 0;
  std::vector<int64_t> item;
  std::vector<int64_t> category;
  std::vector<int64_t> behavior;  // 1..4
  std::vector<int64_t> weekday;   // 1..7, Monday = 1
  std::vector<int64_t> hour;      // 1..24, hour h -> h + 1
  std::vector<int64_t> weekend;   // 1 weekday, 2 Saturday/Sunday
  std::vector<int64_t> position;  // recency: most recent 1, the one before 2, ...; 0 padding
  std::vector<float> continuous;  // (t - t_first) / span, (t_last - t) / span

  bool is_padding(int64_t b, int64_t t) const { return position[b * length + t] == 0; }
};

// Features of one interaction.
inline int64_t weekday_feature(UnixHour t) { return weekday_of(t); }
inline int64_t hour_feature(UnixHour t) { return hour_of_day(t) + 1; }
inline int64_t weekend_feature(UnixHour t) { return weekday_of(t) >= 6 ? 2 : 1; }

// Builds the batch of `sequences` (row ranges of `data`): each keeps its most recent
// `max_len` rows, and the batch is padded to max(min_len, longest kept sequence).
// `hour_shift`, when not empty, holds one offset per sequence: its rows' weekday, hour and
// weekend features are those of time + offset (the relative-time features, which depend only on
// differences, are unchanged). A short part moved this way keeps its own pattern but says
// nothing about when the long part ended (moved_short_hours).
SequenceBatch make_batch(const EncodedDataset& data, const std::vector<RowRange>& sequences,
                         size_t max_len, size_t min_len,
                         const std::vector<int64_t>& hour_shift = {});

// The offset by which a short part is moved: 1 to 167 hours, drawn from (seed, stream), so that
// its hour of week is unrelated to the long part's (a whole week would keep it).
int64_t moved_short_hours(uint64_t seed, uint64_t stream);

}  // namespace lti
