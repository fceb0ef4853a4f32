// The BPR triplet objective on cosine similarity (SPEC 4.4).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "lti/rng.h"

namespace lti {

// mean(softplus(-scale * (cos(L_u, S_u) - cos(L_u, S_negative[u])))).
torch::Tensor bpr_loss(const torch::Tensor& long_vec, const torch::Tensor& short_vec,
                       const torch::Tensor& negative_index, double scale = 1.0);

// A uniformly random permutation of 0..n-1 without fixed points (n >= 2): the in-batch
// negative of user u is the short vector of user derangement[u].
std::vector<int64_t> random_derangement(int64_t n, Rng& rng);

// Mean cosine of own pairs minus the mean cosine of other pairs in a batch.
double separation(const torch::Tensor& long_vec, const torch::Tensor& short_vec);

}  // namespace lti
