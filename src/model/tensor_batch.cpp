#include "lti/model/tensor_batch.h"

namespace lti {

namespace {

torch::Tensor long_tensor(const std::vector<int64_t>& v, int64_t b, int64_t l,
                          const torch::Device& device) {
  // from_blob does not copy; clone() gives the tensor its own storage before the batch dies.
  return torch::from_blob(const_cast<int64_t*>(v.data()), {b, l}, torch::kInt64)
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

}  // namespace

BatchTensors BatchTensors::from(const SequenceBatch& batch, const torch::Device& device) {
  const int64_t b = batch.batch, l = batch.length;
  BatchTensors t;
  t.item = long_tensor(batch.item, b, l, device);
  t.category = long_tensor(batch.category, b, l, device);
  t.behavior = long_tensor(batch.behavior, b, l, device);
  t.weekday = long_tensor(batch.weekday, b, l, device);
  t.hour = long_tensor(batch.hour, b, l, device);
  t.weekend = long_tensor(batch.weekend, b, l, device);
  t.position = long_tensor(batch.position, b, l, device);
  t.continuous =
      torch::from_blob(const_cast<float*>(batch.continuous.data()), {b, l, 2}, torch::kFloat32)
          .to(device, false, true);
  t.valid = t.position.gt(0);
  return t;
}

BatchTensors BatchTensors::positions_of(const std::vector<const BatchTensors*>& batches) {
  const auto rows = [&](torch::Tensor BatchTensors::*field) {
    std::vector<torch::Tensor> parts;
    for (const BatchTensors* b : batches) {
      const torch::Tensor& t = b->*field;
      parts.push_back(t.dim() == 3 ? t.reshape({-1, t.size(2)}) : t.reshape({-1}));
    }
    return torch::cat(parts).unsqueeze(0);
  };
  BatchTensors t;
  t.item = rows(&BatchTensors::item);
  t.category = rows(&BatchTensors::category);
  t.behavior = rows(&BatchTensors::behavior);
  t.weekday = rows(&BatchTensors::weekday);
  t.hour = rows(&BatchTensors::hour);
  t.weekend = rows(&BatchTensors::weekend);
  t.position = rows(&BatchTensors::position);
  t.continuous = rows(&BatchTensors::continuous);
  t.valid = rows(&BatchTensors::valid);
  return t;
}

}  // namespace lti
