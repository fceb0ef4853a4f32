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

WeightAverage::Applied::Applied(WeightAverage& owner) : owner_(owner) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < owner_.parameters_.size(); ++i) {
    raw_.push_back(owner_.parameters_[i].detach().clone());
    owner_.parameters_[i].detach().copy_(owner_.average_[i]);
  }
}

WeightAverage::Applied::~Applied() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < raw_.size(); ++i) owner_.parameters_[i].detach().copy_(raw_[i]);
}

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
