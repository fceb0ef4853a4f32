// Length bucketing of training batches (src/data/batch_sampler.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "lti/data/batch_sampler.h"
#include "lti/util/rng.h"

using namespace lti;

namespace {

// 1,000 users (ids 5000..5999) with heavy-tailed lengths capped at 256, like real logs.
struct Users {
  std::vector<size_t> ids, cost;
  Users() {
    Rng rng(3);
    for (size_t i = 0; i < 1000; ++i) {
      ids.push_back(5000 + i);
      cost.push_back(std::min<size_t>(
          256, 2 + static_cast<size_t>(400 * rng.uniform() * rng.uniform() * rng.uniform())));
    }
  }
  size_t cost_of(size_t id) const { return cost[id - 5000]; }
};

// Padded positions of an epoch: every batch pads to its longest member.
size_t padded_positions(const EpochBatches& e, const Users& u) {
  size_t total = 0;
  for (const auto& [begin, end] : e.batches) {
    size_t longest = 0;
    for (size_t i = begin; i < end; ++i) longest = std::max(longest, u.cost_of(e.order[i]));
    total += longest * (end - begin);
  }
  return total;
}

BatchPlan plan(size_t window) {
  BatchPlan p;
  p.batch_size = 64;
  p.window_batches = window;
  p.min_last_batch = 2;
  p.seed = 11;
  return p;
}

}  // namespace

TEST(BatchSampler, EveryUserExactlyOnceAnEpochInContiguousBatches) {
  const Users u;
  for (const size_t window : {size_t{0}, size_t{1}, size_t{4}, size_t{100}}) {
    for (uint64_t epoch = 1; epoch <= 3; ++epoch) {
      const EpochBatches e = plan_epoch(u.ids, u.cost, plan(window), epoch);
      std::vector<size_t> seen = e.order;
      std::sort(seen.begin(), seen.end());
      EXPECT_EQ(seen, u.ids) << "window " << window << " epoch " << epoch;
      // The batches tile the order: 1,000 = 15 x 64 + 40.
      ASSERT_EQ(e.batches.size(), 16u);
      size_t next = 0, sizes = 0;
      std::vector<size_t> sorted_sizes;
      for (const auto& [begin, end] : e.batches) {
        EXPECT_EQ(begin, next);
        next = end;
        sorted_sizes.push_back(end - begin);
        sizes += end - begin;
      }
      EXPECT_EQ(sizes, u.ids.size());
      std::sort(sorted_sizes.begin(), sorted_sizes.end());
      EXPECT_EQ(sorted_sizes.front(), 40u);
      EXPECT_EQ(sorted_sizes.back(), 64u);
    }
  }
}

TEST(BatchSampler, DeterministicForASeedAndEpochTheSameOnEveryRankAndNewEachEpoch) {
  const Users u;
  const EpochBatches a = plan_epoch(u.ids, u.cost, plan(4), 2);
  const EpochBatches b = plan_epoch(u.ids, u.cost, plan(4), 2);  // another rank, same call
  EXPECT_EQ(a.order, b.order);
  EXPECT_EQ(a.batches, b.batches);
  EXPECT_NE(plan_epoch(u.ids, u.cost, plan(4), 3).order, a.order);
  BatchPlan other = plan(4);
  other.seed = 12;
  EXPECT_NE(plan_epoch(u.ids, u.cost, other, 2).order, a.order);
}

TEST(BatchSampler, WindowZeroIsThePlainShuffle) {
  const Users u;
  const EpochBatches e = plan_epoch(u.ids, u.cost, plan(0), 5);
  std::vector<size_t> expected = u.ids;
  Rng rng(11, 5);
  for (size_t i = expected.size(); i > 1; --i) std::swap(expected[i - 1], expected[rng.below(i)]);
  EXPECT_EQ(e.order, expected);
  for (size_t b = 0; b < e.batches.size(); ++b) EXPECT_EQ(e.batches[b].first, b * 64);
}

TEST(BatchSampler, SortingWindowsCutPaddingAndBatchOrderIsShuffled) {
  const Users u;
  const size_t real = std::accumulate(u.cost.begin(), u.cost.end(), size_t{0});
  const EpochBatches random = plan_epoch(u.ids, u.cost, plan(0), 1);
  const EpochBatches bucketed = plan_epoch(u.ids, u.cost, plan(4), 1);
  const double random_share = static_cast<double>(real) / padded_positions(random, u);
  const double bucketed_share = static_cast<double>(real) / padded_positions(bucketed, u);
  EXPECT_GT(bucketed_share, random_share + 0.2)
      << "real share random " << random_share << " bucketed " << bucketed_share;
  // Inside a window each batch is sorted, but the batches do not run from short to long.
  std::vector<size_t> first_costs;
  for (const auto& [begin, end] : bucketed.batches)
    first_costs.push_back(u.cost_of(bucketed.order[begin]));
  EXPECT_FALSE(std::is_sorted(first_costs.begin(), first_costs.end()));
}

TEST(BatchSampler, ChunksByLengthHoldEveryPositionOnceLongestFirst) {
  const Users u;
  const std::vector<size_t> lengths(u.cost.begin(), u.cost.begin() + 100);
  const auto chunks = chunks_by_length(lengths, 32);
  ASSERT_EQ(chunks.size(), 4u);  // 32 + 32 + 32 + 4
  EXPECT_EQ(chunks.back().size(), 4u);
  std::vector<size_t> seen, in_order;
  for (const auto& chunk : chunks) {
    EXPECT_LE(chunk.size(), 32u);
    for (const size_t i : chunk) {
      seen.push_back(i);
      in_order.push_back(lengths[i]);
    }
  }
  EXPECT_TRUE(std::is_sorted(in_order.rbegin(), in_order.rend()));
  std::sort(seen.begin(), seen.end());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
  // Chunks of similar lengths pad less than the batch as one: compare padded positions.
  size_t chunked = 0;
  for (const auto& chunk : chunks) chunked += lengths[chunk.front()] * chunk.size();
  EXPECT_LT(chunked, *std::max_element(lengths.begin(), lengths.end()) * lengths.size() * 3 / 4);
}

TEST(BatchSampler, ASmallLastBatchJoinsThePreviousOne) {
  const Users u;
  BatchPlan p = plan(2);
  p.batch_size = 333;  // 1,000 = 3 x 333 + 1
  p.min_last_batch = 4;
  const EpochBatches e = plan_epoch(u.ids, u.cost, p, 1);
  ASSERT_EQ(e.batches.size(), 3u);
  size_t largest = 0;
  for (const auto& [begin, end] : e.batches) largest = std::max(largest, end - begin);
  EXPECT_EQ(largest, 334u);
}
