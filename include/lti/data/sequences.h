// Long/short split of a user's time-sorted history (SPEC section 3.3-3.4).
#pragma once

#include <cstddef>
#include <string>

#include "lti/data/dataset.h"

namespace lti {

// The original design's lower bounds of a batch's padded length (SPEC 3.4). Padding is masked
// in attention and never routed, so they change no vector, only the compute spent: lti pads a
// batch to its longest member alone (kBatchLongest, make_batch's min_len). The equality of the
// vectors is tested in tests/publish/test_export.cpp.
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

// How a scored user's history is cut into the long and the short part (SPEC sections 3.3, 8).
//  - count: the oldest floor(0.9 n) interactions, then the rest (the original design). People
//    rate and browse in sittings, so the short part usually begins in the hour the long part
//    ends, which a clock alone can match (the clock baseline, clock_baseline.h).
//  - gap: the boundary is a pause, at least min_gap_hours between two interactions: the first
//    at or after the 90% point, or else the last before it that leaves the long part at least
//    half of the history. The short part is everything from there on, as in the count rule;
//    the long part is everything before it. A user with no such pause (one sitting) is not
//    scored and not trained on. Then the short part never continues the long part's last
//    visit, and the boundary's hour of week tells users apart no better than chance.
// The pause that separates two visits by default (--min_gap_hours; docs/quality.md says why 4).
constexpr int kDefaultMinGapHours = 4;

struct SplitRule {
  enum class Kind { kCount, kGap };
  Kind kind = Kind::kCount;
  int min_gap_hours = kDefaultMinGapHours;
  static SplitRule count() { return {}; }
  static SplitRule gap(int min_gap_hours) { return {Kind::kGap, min_gap_hours}; }
  // "count" or "gap"; throws Error(kExitUsage) naming `option` for anything else.
  static SplitRule named(const std::string& name, int min_gap_hours, const std::string& option);
  std::string name() const;  // "count" or "gap"
};

// Splits by `rule`; the count rule is split_user(rows). Not trainable() when the gap rule finds
// no visit to cut at.
UserSplit split_user(const EncodedDataset& data, RowRange rows, const SplitRule& rule);

// The most recent `max_len` rows of a range.
inline RowRange keep_most_recent(RowRange rows, size_t max_len) {
  return rows.size() > max_len ? RowRange{rows.end - max_len, rows.end} : rows;
}

}  // namespace lti
