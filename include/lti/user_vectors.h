// Inference: every user's long-term vector (SPEC section 6).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "lti/dataset.h"
#include "lti/model.h"

namespace lti {

// Runs feature embedding -> MoE -> long tower in eval mode without gradients over each user's
// full sequence (most recent N_MAX, padded like training). Returns [num_users * H] floats in
// user order of `data`. Users are batched by similar length, so padding costs little.
std::vector<float> compute_user_vectors(UserInterestModel& model, const EncodedDataset& data,
                                        int64_t batch_size, const torch::Device& device);
// The same for the users `users` (indices into `data`), in that order.
std::vector<float> compute_user_vectors(UserInterestModel& model, const EncodedDataset& data,
                                        const std::vector<size_t>& users, int64_t batch_size,
                                        const torch::Device& device);

}  // namespace lti
