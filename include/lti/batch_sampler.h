// Which training users make up each step's global batch, epoch by epoch.
//
// Random batches pad every user to the batch's longest member; on a real log (median 65
// interactions against a 256 cap) only about a third of the positions are then real tokens.
// Length bucketing shuffles the users, sorts them by length within windows of several batches,
// cuts the windows into batches and shuffles the batch order: each batch holds users of
// similar length, and every user is still visited exactly once an epoch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace lti {

struct EpochBatches {
  std::vector<size_t> order;                       // the users in the order they are trained
  std::vector<std::pair<size_t, size_t>> batches;  // [begin, end) ranges of `order`
};

struct BatchPlan {
  size_t batch_size = 128;
  // Batches per sorting window; 0 = random batches (no sorting).
  size_t window_batches = 0;
  // A final batch smaller than this joins the one before it (distributed: two users a rank).
  size_t min_last_batch = 2;
  uint64_t seed = 42;
};

// The epoch's batches of `users` (`cost[i]` is the padded length users[i] takes, e.g. its long
// part's capped length). Deterministic for (plan, epoch); the same on every rank.
EpochBatches plan_epoch(const std::vector<size_t>& users, const std::vector<size_t>& cost,
                        const BatchPlan& plan, uint64_t epoch);

}  // namespace lti
