// A SequenceBatch as LibTorch tensors on a device: the boundary between the data pipeline
// (plain vectors) and the model.
#pragma once

#include <torch/torch.h>

#include "lti/data/batch.h"

namespace lti {

struct BatchTensors {
  torch::Tensor item, category, behavior, weekday, hour, weekend;  // [B, L] int64
  torch::Tensor position;    // [B, L] int64, recency, 0 = padding
  torch::Tensor continuous;  // [B, L, 2] float
  torch::Tensor valid;       // [B, L] bool, false at padding

  static BatchTensors from(const SequenceBatch& batch, const torch::Device& device);
  // Every position of `batches`, in order, as one [1, N] batch (N: the sum of their B x L).
  static BatchTensors positions_of(const std::vector<const BatchTensors*>& batches);
};

}  // namespace lti
