// Which training users make up each step's global batch, epoch by epoch.
//
// Random batches pad every user to the batch's longest member; on a real log (median 65
// interactions against a 256 cap) only about a third of the positions are then real tokens.
// Two remedies:
// - chunks_by_length: each step's users are sorted by length and encoded in chunks that pad
//   to their own longest member; the loss still spans the step, so the negatives are those of
//   the random batch. Always on (Trainer).
// - plan_epoch with window_batches > 0 (--sort_window): users sorted by length within windows
//   of several batches, the batch order shuffled. A batch then holds users of similar length,
//   which also makes the negatives alike in length: measured to cost quality, so off by default.
// Either way every user is visited exactly once an epoch.
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
// part's capped length; read only when window_batches > 0, so it may be empty otherwise).
// Deterministic for (plan, epoch); the same on every rank.
EpochBatches plan_epoch(const std::vector<size_t>& users, const std::vector<size_t>& cost,
                        const BatchPlan& plan, uint64_t epoch);

// The positions 0..n-1 of users with these lengths, longest first (stable), cut into chunks of
// at most `chunk_size`: each chunk pads only to its own longest member. A training step's
// chunks (its loss still spans all its users, so the negatives stay those of the random batch),
// and the inference batches of eval and export.
std::vector<std::vector<size_t>> chunks_by_length(const std::vector<size_t>& lengths,
                                                  size_t chunk_size);

}  // namespace lti
