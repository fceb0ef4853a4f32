// An exponential moving average of the model's parameters over optimiser steps (`--ema_steps`).
// On small logs a step moves the weights by the noise of a few hundred users, and validation on
// a few dozen users picks an epoch at the top of that noise; the average of the last steps'
// weights is steadier, so validation, the kept epoch and the saved model use it. Training
// itself goes on from the raw weights.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace lti {

class WeightAverage {
 public:
  // `time_constant` steps: after step t the average is avg <- d avg + (1 - d) w with
  // d = min(1 - 1 / time_constant, 1 - 1 / t), so the first time_constant steps are averaged
  // evenly (nothing of the initial weights remains after the first step) and later ones decay
  // by e every time_constant steps. The parameters must outlive the average.
  WeightAverage(std::vector<torch::Tensor> parameters, double time_constant);

  // After an optimiser step.
  void update();
  int64_t steps() const { return steps_; }
  // The average of parameter i (for tests; while an Applied lives, the raw weights).
  const torch::Tensor& average(size_t i) const { return average_[i]; }

  // While an Applied lives, the parameters hold the average (and the average the raw weights:
  // the two trade storage, so applying costs no copy); its destructor trades them back.
  class Applied {
   public:
    explicit Applied(WeightAverage& owner);
    ~Applied();
    Applied(const Applied&) = delete;
    Applied& operator=(const Applied&) = delete;

   private:
    WeightAverage& owner_;
  };
  Applied apply() { return Applied(*this); }

  // The average and its step count, for --resume (a file of torch::save's archive format).
  std::string bytes() const;
  void load(const std::string& path, const torch::Device& device);

 private:
  void swap_storage();

  std::vector<torch::Tensor> parameters_, average_;
  double time_constant_;
  int64_t steps_ = 0;
};

}  // namespace lti
