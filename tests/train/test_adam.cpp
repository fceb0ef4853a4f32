#include <gtest/gtest.h>

#include <sstream>

#include "lti/train/adam.h"

using namespace lti;

namespace {

// A large parameter (the one pass, split across threads), a matrix and a bias; with `strided`
// the matrix is a transposed view, which LibTorch's own step takes.
std::vector<torch::Tensor> make_params(bool strided = false) {
  torch::manual_seed(3);
  auto matrix = torch::randn({16, 24});
  if (strided) matrix = matrix.t();
  return {torch::randn({300'000}).requires_grad_(), matrix.detach().requires_grad_(),
          torch::randn({7}).requires_grad_()};
}

// Gives both parameter lists the same gradients and steps both optimisers; step s of any call
// has the same gradients.
void step_both(std::vector<torch::Tensor>& a, torch::optim::Optimizer& opt_a,
               std::vector<torch::Tensor>& b, torch::optim::Optimizer& opt_b, int steps) {
  for (int s = 0; s < steps; ++s) {
    torch::manual_seed(100 + s);
    for (size_t i = 0; i < a.size(); ++i) {
      const auto g = torch::randn_like(a[i]) * (s + 1) * 0.1;
      a[i].mutable_grad() = g.clone();
      b[i].mutable_grad() = g.clone();
    }
    opt_a.step();
    opt_b.step();
  }
}

void expect_close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    // Both make steps of about lr = 0.01 a step; they differ in rounding only (the one pass
    // may fuse a multiply and an add).
    EXPECT_TRUE(torch::allclose(a[i], b[i], /*rtol=*/1e-5, /*atol=*/1e-6)) << "parameter " << i;
  }
}

std::string saved(torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void load(torch::optim::Optimizer& opt, const std::string& bytes) {
  std::istringstream in(bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  opt.load(archive);
}

}  // namespace

TEST(Adam, FollowsLibTorchsAdam) {
  auto ours = make_params(), theirs = make_params();
  const auto start = ours[0].detach().clone();
  Adam a(ours, torch::optim::AdamOptions(0.01));
  torch::optim::Adam b(theirs, torch::optim::AdamOptions(0.01));
  step_both(ours, a, theirs, b, 6);
  expect_close(ours, theirs);
  // The parameters moved (by about lr a step), so the comparison above is not of two no-ops.
  EXPECT_GT((ours[0] - start).abs().mean().item<double>(), 0.02);
  const auto& state = static_cast<torch::optim::AdamParamState&>(*a.state().begin()->second);
  EXPECT_EQ(state.step(), 6);
}

TEST(Adam, ItsStateLoadsIntoLibTorchsAdamAndBack) {
  // A run saved by lti's Adam resumes under LibTorch's and the other way round (optimizer.pt
  // files written before this class existed still resume).
  auto ours = make_params(), theirs = make_params();
  Adam a(ours, torch::optim::AdamOptions(0.01));
  torch::optim::Adam b(theirs, torch::optim::AdamOptions(0.01));
  step_both(ours, a, theirs, b, 3);

  auto resumed_ours = make_params(), resumed_theirs = make_params();
  for (size_t i = 0; i < ours.size(); ++i) {
    torch::NoGradGuard no_grad;
    resumed_ours[i].copy_(theirs[i]);
    resumed_theirs[i].copy_(ours[i]);
  }
  Adam c(resumed_ours, torch::optim::AdamOptions(0.01));
  torch::optim::Adam d(resumed_theirs, torch::optim::AdamOptions(0.01));
  load(c, saved(b));
  load(d, saved(a));
  step_both(resumed_ours, c, resumed_theirs, d, 3);
  step_both(ours, a, theirs, b, 3);
  expect_close(resumed_ours, ours);
  expect_close(resumed_theirs, ours);
}

TEST(Adam, AStepWithAStridedParameterIsLibTorchsExactly) {
  auto ours = make_params(/*strided=*/true), theirs = make_params(/*strided=*/true);
  ASSERT_FALSE(ours[1].is_contiguous());
  Adam a(ours, torch::optim::AdamOptions(0.01));
  torch::optim::Adam b(theirs, torch::optim::AdamOptions(0.01));
  step_both(ours, a, theirs, b, 4);
  for (size_t i = 0; i < ours.size(); ++i) EXPECT_TRUE(torch::equal(ours[i], theirs[i]));
}

TEST(Adam, AmsgradAndWeightDecayAreLibTorchsExactly) {
  auto ours = make_params(), theirs = make_params();
  const auto options = torch::optim::AdamOptions(0.01).amsgrad(true).weight_decay(0.1);
  Adam a(ours, options);
  torch::optim::Adam b(theirs, options);
  step_both(ours, a, theirs, b, 4);
  for (size_t i = 0; i < ours.size(); ++i) EXPECT_TRUE(torch::equal(ours[i], theirs[i]));
}
