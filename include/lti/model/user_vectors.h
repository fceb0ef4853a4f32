// Inference: every user's long-term vector (SPEC section 6).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "lti/data/dataset.h"
#include "lti/model/model.h"

namespace lti {

// Users per inference batch for --batch_size 0 (automatic): 64 on a CPU, 512 on a GPU. On a
// CPU a batch of 512 users sorted by length still spans lengths from the cap down to the
// median, so it pads several-fold on logs of short histories, and its attention scores take
// gigabytes; 64 was measured fastest or within 6% of it (docs/performance.md).
int64_t inference_batch_size(int64_t requested, const torch::Device& device);

// Runs feature embedding -> MoE -> long tower in eval mode without gradients over each user's
// full sequence (most recent N_MAX, padded like training). Returns [num_users * H] floats in
// user order of `data`. Users are batched by similar length, so padding costs little;
// `batch_size` users a batch, 0 = automatic (inference_batch_size).
std::vector<float> compute_user_vectors(UserInterestModel& model, const EncodedDataset& data,
                                        int64_t batch_size, const torch::Device& device);
// The same for the users `users` (indices into `data`), in that order.
std::vector<float> compute_user_vectors(UserInterestModel& model, const EncodedDataset& data,
                                        const std::vector<size_t>& users, int64_t batch_size,
                                        const torch::Device& device);

}  // namespace lti
