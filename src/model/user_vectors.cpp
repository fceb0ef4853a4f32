#include "lti/model/user_vectors.h"

#include <algorithm>
#include <numeric>

#include "lti/data/batch.h"
#include "lti/data/batch_sampler.h"
#include "lti/data/sequences.h"
#include "lti/model/tensor_batch.h"
#include "lti/util/interrupt.h"

namespace lti {

int64_t inference_batch_size(int64_t requested, const torch::Device& device) {
  if (requested > 0) return requested;
  return device.is_cuda() ? 512 : 64;
}

std::vector<float> compute_user_vectors(UserInterestModel& model, const EncodedDataset& data,
                                        int64_t batch_size, const torch::Device& device) {
  std::vector<size_t> all(data.num_users());
  std::iota(all.begin(), all.end(), 0);
  return compute_user_vectors(model, data, all, batch_size, device);
}

std::vector<float> compute_user_vectors(UserInterestModel& model, const EncodedDataset& data,
                                        const std::vector<size_t>& user_indices, int64_t batch_size,
                                        const torch::Device& device) {
  const auto& config = model.config();
  const size_t dim = static_cast<size_t>(config.hidden_dim);
  const size_t users = user_indices.size();
  std::vector<float> vectors(users * dim);
  // Longest first: users of similar length share a batch and its padded length. A batch holds
  // positions in user_indices.
  std::vector<size_t> lengths;
  for (const size_t u : user_indices) lengths.push_back(data.user_rows(u).size());
  model.train(false);
  c10::InferenceMode inference;
  size_t done = 0;
  for (const std::vector<size_t>& batch_users :
       chunks_by_length(lengths, static_cast<size_t>(inference_batch_size(batch_size, device)))) {
    if (stop_signal() != 0)
      throw_if_stop_requested("stopped during inference, after " + std::to_string(done) + " of " +
                              std::to_string(users) + " users; nothing was written");
    std::vector<RowRange> sequences;
    for (const size_t i : batch_users) sequences.push_back(data.user_rows(user_indices[i]));
    const auto batch =
        make_batch(data, sequences, static_cast<size_t>(config.n_max), kBatchLongest);
    const auto out =
        model.encode_long(BatchTensors::from(batch, device)).to(torch::kCPU).contiguous();
    const float* values = out.data_ptr<float>();
    for (size_t row = 0; row < batch_users.size(); ++row)
      std::copy(values + row * dim, values + (row + 1) * dim, &vectors[batch_users[row] * dim]);
    done += batch_users.size();
  }
  return vectors;
}

}  // namespace lti
