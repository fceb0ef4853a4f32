// Representation quality (SPEC section 8): do long vectors retrieve their own user's short
// vector among all validation users? Compared with a mean-pooling baseline and chance.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lti/data/dataset.h"
#include "lti/data/sequences.h"
#include "lti/model/model.h"
#include "lti/train/retrieval_metrics.h"

namespace lti {

// The rank of each query's own target (query i's target is target i) by cosine similarity
// against every target, in chunks of `chunk` queries, so no N x N matrix is ever held (rank =
// 1 + the other targets scoring at least as high: ties count against the user).
std::vector<size_t> retrieval_ranks(const torch::Tensor& queries, const torch::Tensor& targets,
                                    int64_t chunk = 256);
// metrics_from_ranks(retrieval_ranks(...)).
RetrievalMetrics retrieval_metrics(const torch::Tensor& queries, const torch::Tensor& targets,
                                   int64_t chunk = 256);

// Long and short vectors of users (indices into `data`), from the towers or, with
// `mean_pooling`, as the mean of the feature-embedding output over each sequence;
// `batch_size` users a batch, 0 = automatic (inference_batch_size). kBothShortMoved moves
// each short part in time by an offset drawn from the user's raw id (moved_short_hours);
// kMovedShortOnly does the same and leaves long_vec undefined, where the caller has the long
// vectors already (they do not change).
struct PairVectors {
  torch::Tensor long_vec, short_vec;  // [users, H]
};
enum class PairParts { kBoth, kBothShortMoved, kMovedShortOnly };
PairVectors encode_pairs(UserInterestModel& model, const EncodedDataset& data,
                         const std::vector<size_t>& users, int64_t batch_size,
                         const torch::Device& device, bool mean_pooling,
                         const SplitRule& split = SplitRule::count(),
                         PairParts parts = PairParts::kBoth);

// Fewer scored users than this and lti eval's table says how little its figures can tell apart.
inline constexpr size_t kFewScoredUsers = 100;

struct EvalResult {
  // clock: the boundary's hour of week alone (clock_baseline.h), no vector at all.
  RetrievalMetrics model, mean_pooling, clock, chance;
  // The model again, with every short part moved in time by its own random 1-167 hours: the
  // boundary then says nothing, so what the model loses here it took from the clock.
  RetrievalMetrics model_moved;
  // Model over mean pooling at Recall@10 and MRR, with 95% intervals from resampling the
  // scored users (resamples 0 where not computed).
  PairedRatios model_over_pooling;
  SplitRule split;
  size_t not_scored = 0;                 // users the split rule found nothing to cut at
  std::string who = "validation users";  // which users were scored, for the table
  std::string who_role = "validation";   // "test" or "validation", for --json
  // True when the clock row's MRR is above 1.5x chance and gains at least half of what the
  // model gains over chance: then much of the model's margin may be the clock, not interests.
  bool clock_within_reach() const;
  // The share of the model's MRR gain over chance that moving the short parts takes away (0
  // when it takes nothing or the model gains nothing).
  double clock_share_of_model() const;
  std::string table() const;
  nlohmann::json to_json() const;
};

// Evaluates the users among `users` that `split` can cut (inference mode).
EvalResult evaluate(UserInterestModel& model, const EncodedDataset& data,
                    const std::vector<size_t>& users, int64_t batch_size,
                    const torch::Device& device, const SplitRule& split = SplitRule::count());

}  // namespace lti
