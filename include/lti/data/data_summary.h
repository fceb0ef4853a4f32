// What `lti inspect` prints, and what training records about its data.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "lti/data/csv_reader.h"
#include "lti/data/dataset.h"

namespace lti {

struct DataSummary {
  size_t files = 0;
  uint64_t rows = 0;
  uint64_t rows_skipped = 0;
  uint64_t users = 0;
  uint64_t items = 0;
  uint64_t categories = 0;
  std::array<uint64_t, 5> behavior_counts{};  // index 1..4
  UnixHour first_time = 0;
  UnixHour last_time = 0;
  uint64_t trainable_users = 0;  // both long and short parts non-empty (the count split)
  uint64_t pause_users = 0;      // of those, users the gap split can cut (kDefaultMinGapHours)
  // Interactions per user at the 10th, 50th, 90th, 99th percentile and the maximum.
  std::array<uint64_t, 5> length_percentiles{};

  static DataSummary compute(const ReadStats& stats, const EncodedDataset& data,
                             const Encoders& encoders);
  std::string to_text() const;
  nlohmann::json to_json() const;
};

}  // namespace lti
