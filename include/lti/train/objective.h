// The training objectives on cosine similarity (SPEC 4.4): BPR triplets and in-batch softmax.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "lti/util/rng.h"

namespace lti {

// mean(softplus(-scale * (cos(L_u, S_u) - cos(L_u, S_negative[u])))).
torch::Tensor bpr_loss(const torch::Tensor& long_vec, const torch::Tensor& short_vec,
                       const torch::Tensor& negative_index, double scale = 1.0);

// In-batch sampled softmax (InfoNCE): for each long vector u, logits cos(L_u, S_v) / temperature
// over every short vector v, cross-entropy with target v = target_offset + u. `short_vec` may
// hold more rows than `long_vec` (in a distributed run, every rank's short vectors; this rank's
// start at target_offset).
torch::Tensor softmax_loss(const torch::Tensor& long_vec, const torch::Tensor& short_vec,
                           double temperature, int64_t target_offset = 0);

// A uniformly random permutation of 0..n-1 without fixed points (n >= 2): the in-batch
// negative of user u is the short vector of user derangement[u].
std::vector<int64_t> random_derangement(int64_t n, Rng& rng);

// Mean cosine of own pairs minus the mean cosine of other pairs in a batch.
double separation(const torch::Tensor& long_vec, const torch::Tensor& short_vec);

}  // namespace lti
