#include "lti/train/weight_average.h"

#include <algorithm>
#include <sstream>

#include "lti/util/errors.h"

namespace lti {

WeightAverage::WeightAverage(std::vector<torch::Tensor> parameters, double time_constant)
    : parameters_(std::move(parameters)), time_constant_(time_constant) {
  if (!(time_constant_ >= 1)) throw Error(kExitUsage, "--ema_steps must be 0 (off) or at least 1");
  torch::NoGradGuard no_grad;
  for (const auto& p : parameters_) average_.push_back(p.detach().clone());
}

void WeightAverage::update() {
  ++steps_;
  const double decay =
      std::min(1.0 - 1.0 / time_constant_, 1.0 - 1.0 / static_cast<double>(steps_));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i)
    average_[i].lerp_(parameters_[i].detach(), 1.0 - decay);
}

void WeightAverage::swap_storage() {
  // Each parameter and its average trade storage (set_data keeps the parameter's TensorImpl,
  // which the optimiser's state is keyed by): no copy and no second parameter-sized buffer,
  // which on the Tianchi catalogue's item table is 0.7 GB.
  for (size_t i = 0; i < parameters_.size(); ++i) {
    torch::Tensor raw = parameters_[i].data();
    parameters_[i].set_data(average_[i]);
    average_[i] = raw;
  }
}

WeightAverage::Applied::Applied(WeightAverage& owner) : owner_(owner) { owner_.swap_storage(); }

WeightAverage::Applied::~Applied() { owner_.swap_storage(); }

std::string WeightAverage::bytes() const {
  torch::serialize::OutputArchive archive;
  archive.write("steps", torch::tensor(steps_, torch::kInt64));
  for (size_t i = 0; i < average_.size(); ++i)
    archive.write("average." + std::to_string(i), average_[i].cpu());
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void WeightAverage::load(const std::string& path, const torch::Device& device) {
  torch::serialize::InputArchive archive;
  std::vector<torch::Tensor> loaded(average_.size());
  torch::Tensor steps;
  try {
    archive.load_from(path, device);
    archive.read("steps", steps);
    for (size_t i = 0; i < loaded.size(); ++i) {
      archive.read("average." + std::to_string(i), loaded[i]);
      if (!loaded[i].sizes().equals(average_[i].sizes()))
        throw ModelError("'" + path + "': parameter " + std::to_string(i) +
                         " has another shape than the model's");
    }
  } catch (const c10::Error&) {
    throw ModelError("--resume: cannot read the weight average '" + path + "'");
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < loaded.size(); ++i) average_[i].copy_(loaded[i]);
  steps_ = steps.item<int64_t>();
}

}  // namespace lti
