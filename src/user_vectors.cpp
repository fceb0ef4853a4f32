#include "lti/user_vectors.h"

#include <algorithm>
#include <numeric>

#include "lti/batch.h"
#include "lti/interrupt.h"
#include "lti/sequences.h"
#include "lti/tensor_batch.h"

namespace lti {

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
  // Longest first: users of similar length share a batch and its padded length. `order` holds
  // positions in user_indices.
  std::vector<size_t> order(users);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return data.user_rows(user_indices[a]).size() > data.user_rows(user_indices[b]).size();
  });
  model.train(false);
  c10::InferenceMode inference;
  const size_t step = static_cast<size_t>(batch_size);
  for (size_t begin = 0; begin < users; begin += step) {
    if (stop_signal() != 0)
      throw_if_stop_requested("stopped during inference, after " + std::to_string(begin) + " of " +
                              std::to_string(users) + " users; nothing was written");
    const size_t end = std::min(users, begin + step);
    std::vector<RowRange> sequences;
    for (size_t i = begin; i < end; ++i)
      sequences.push_back(data.user_rows(user_indices[order[i]]));
    const auto batch =
        make_batch(data, sequences, static_cast<size_t>(config.n_max), kBatchLongest);
    const auto out =
        model.encode_long(BatchTensors::from(batch, device)).to(torch::kCPU).contiguous();
    const float* values = out.data_ptr<float>();
    for (size_t i = begin; i < end; ++i)
      std::copy(values + (i - begin) * dim, values + (i - begin + 1) * dim,
                &vectors[order[i] * dim]);
  }
  return vectors;
}

}  // namespace lti
