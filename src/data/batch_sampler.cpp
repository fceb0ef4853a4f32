#include "lti/data/batch_sampler.h"

#include <algorithm>
#include <numeric>

#include "lti/util/rng.h"

namespace lti {
namespace {

template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace

EpochBatches plan_epoch(const std::vector<size_t>& users, const std::vector<size_t>& cost,
                        const BatchPlan& plan, uint64_t epoch) {
  const size_t n = users.size(), bs = std::max<size_t>(plan.batch_size, 1);
  // Positions into `users`, shuffled (the same stream as lti's random batches always used).
  std::vector<size_t> pos(n);
  std::iota(pos.begin(), pos.end(), size_t{0});
  Rng rng(plan.seed, epoch);
  shuffle(pos, rng);

  if (plan.window_batches > 0) {
    // Stable: users of equal length keep their shuffled order, so batches still vary.
    const size_t window = plan.window_batches * bs;
    for (size_t w = 0; w < n; w += window) {
      std::stable_sort(pos.begin() + static_cast<std::ptrdiff_t>(w),
                       pos.begin() + static_cast<std::ptrdiff_t>(std::min(n, w + window)),
                       [&](size_t a, size_t b) { return cost[a] < cost[b]; });
    }
  }

  std::vector<std::pair<size_t, size_t>> cut;
  for (size_t b = 0; b < n; b += bs) cut.push_back({b, std::min(n, b + bs)});
  if (cut.size() > 1 && cut.back().second - cut.back().first < plan.min_last_batch) {
    cut.pop_back();
    cut.back().second = n;
  }
  // Sorted windows would otherwise give every epoch short batches first and long ones last.
  if (plan.window_batches > 0) {
    Rng batch_rng(plan.seed ^ 0x6261746368ULL, epoch);
    shuffle(cut, batch_rng);
  }

  EpochBatches e;
  e.order.reserve(n);
  for (const auto& [begin, end] : cut) {
    const size_t start = e.order.size();
    for (size_t i = begin; i < end; ++i) e.order.push_back(users[pos[i]]);
    e.batches.push_back({start, e.order.size()});
  }
  return e;
}

std::vector<std::vector<size_t>> chunks_by_length(const std::vector<size_t>& lengths,
                                                  size_t chunk_size) {
  std::vector<size_t> pos(lengths.size());
  std::iota(pos.begin(), pos.end(), size_t{0});
  std::stable_sort(pos.begin(), pos.end(),
                   [&](size_t a, size_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<size_t>> chunks;
  const size_t step = std::max<size_t>(chunk_size, 1);
  for (size_t from = 0; from < pos.size(); from += step)
    chunks.emplace_back(
        pos.begin() + static_cast<std::ptrdiff_t>(from),
        pos.begin() + static_cast<std::ptrdiff_t>(std::min(pos.size(), from + step)));
  return chunks;
}

}  // namespace lti
