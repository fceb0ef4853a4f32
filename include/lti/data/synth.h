// Synthetic Tianchi-format behaviour logs with planted user interests (SPEC section 9).
// The generative model is documented in docs/synthetic-data.md.
#pragma once

#include <cstdint>
#include <string>

namespace lti {

struct SynthOptions {
  uint64_t users = 1000;
  uint64_t rows = 200000;
  uint64_t items = 50000;
  uint64_t categories = 500;
  uint64_t seed = 42;
  double interest_share = 0.75;  // share of a user's interactions inside their own interests
  uint32_t min_interests = 2;    // interest categories per user: uniform in [min, max]
  uint32_t max_interests = 4;
  double interest_drift = 0.5;  // how far interest weights move from the first to the last row
  // Share of interactions that revisit one of the user's items, as in click logs. 0 makes a
  // ratings-style log instead: every other draw avoids the user's items, so each item appears
  // at most once per user (as far as the catalogue allows).
  double revisit_share = 0.25;

  // The full data set's scale: 10,000 users, 12,256,906 rows, 2,876,947 items, 8,916 categories.
  static SynthOptions tianchi_preset();
  void validate() const;  // throws Error(kExitUsage) on impossible sizes
};

struct SynthReport {
  uint64_t rows = 0;
  uint64_t users = 0;
  uint64_t distinct_items = 0;
  uint64_t distinct_categories = 0;
  uint64_t bytes = 0;
};

// Writes the CSV (header included) to `path` atomically. Same options, same bytes.
SynthReport synthesize(const SynthOptions& options, const std::string& path);

}  // namespace lti
