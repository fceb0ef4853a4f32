// Long/short split of a user's time-sorted history (SPEC section 3.3-3.4).
#pragma once

#include <cstddef>

#include "lti/dataset.h"

namespace lti {

// The original design's lower bounds of a batch's padded length (SPEC 3.4). Padding is masked
// in attention and never routed, so they change no vector, only the compute spent: lti pads a
// batch to its longest member alone (kBatchLongest, make_batch's min_len). The equality of the
// vectors is tested in tests/test_export.cpp.
constexpr size_t kLongMinLength = 100;  // N_MIN
constexpr size_t kShortMinLength = 10;  // K_MIN
constexpr size_t kBatchLongest = 1;
constexpr size_t kDefaultLongMaxLength = 256;  // N_MAX
constexpr size_t kDefaultShortMaxLength = 64;  // K_MAX

struct UserSplit {
  RowRange long_part;   // the oldest floor(0.9 n) interactions
  RowRange short_part;  // the rest
  // A user trains only when both parts are non-empty.
  bool trainable() const { return long_part.size() > 0 && short_part.size() > 0; }
};

// floor(0.9 * n) computed in integers (0.9 has no exact binary form).
inline size_t long_part_size(size_t n) { return n * 9 / 10; }

inline UserSplit split_user(RowRange rows) {
  const uint64_t mid = rows.begin + long_part_size(rows.size());
  return {{rows.begin, mid}, {mid, rows.end}};
}

// The most recent `max_len` rows of a range.
inline RowRange keep_most_recent(RowRange rows, size_t max_len) {
  return rows.size() > max_len ? RowRange{rows.end - max_len, rows.end} : rows;
}

}  // namespace lti
