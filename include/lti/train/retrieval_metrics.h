// Retrieval figures from ranks (1 = the user's own short vector first), how sure each is, and
// how sure a comparison of two rankers on the same users is. No tensors: lti eval's rows and
// the clock baseline all come down to one rank a user.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace lti {

struct RetrievalMetrics {
  double recall_at_1 = 0, recall_at_10 = 0, recall_at_50 = 0, mrr = 0;
  // Standard errors of Recall@10 and MRR: each is a mean of one value a user, so its spread
  // over users drawn like these is sd / sqrt(users). 1.96 of them either side is a 95%
  // interval. 0 for chance (an expectation) and for fewer than two users.
  double recall_at_10_se = 0, mrr_se = 0;
  size_t users = 0;
  nlohmann::json to_json() const;
};

// What a random ranking scores on average among n users.
RetrievalMetrics chance_metrics(size_t n);

// Recall@1/10/50, MRR and their standard errors from given ranks.
RetrievalMetrics metrics_from_ranks(const std::vector<size_t>& ranks);

// One ranker's figure over another's on the same users, with a 95% interval from resampling
// the users (a paired percentile bootstrap: every resample draws users with replacement and
// scores both rankers on that draw, so what the two share does not widen it). `ratio` is
// infinite where the second ranker scores 0.
struct RatioInterval {
  double ratio = 0, low = 0, high = 0;
  nlohmann::json to_json() const;
};
struct PairedRatios {
  RatioInterval recall_at_10, mrr;
  size_t users = 0;
  size_t resamples = 0;  // 0: not computed
  nlohmann::json to_json() const;
};

// Ranks of the same users under two rankers (a[i] and b[i] are user i's). Resamples at most
// `max_resamples`, fewer on large sets (where the interval is narrow anyway) so that it stays
// under about 2e7 draws; fixed `seed`: the same ranks give the same interval.
PairedRatios paired_ratios(const std::vector<size_t>& a, const std::vector<size_t>& b,
                           size_t max_resamples = 2000, uint64_t seed = 1);

}  // namespace lti
