// The CUDA path, where a GPU is present: forward passes equal the CPU's, training runs there
// (MoE dispatch, balancing bias, dropout, Adam), a model trained on the GPU loads on the CPU,
// and a process group of one rank sums CUDA tensors. CTest label "cuda" (ctest -L cuda).
//
// Without a usable GPU each test reports that it did not run (skipped, with the CUDA runtime's
// reason). CI has no GPU, so there that is expected; scripts/gpu-check.sh sets
// LTI_REQUIRE_CUDA=1, under which a missing GPU fails every test instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "lti/data/sequences.h"
#include "lti/model/runtime.h"
#include "lti/model/user_vectors.h"
#include "lti/train/distributed.h"
#include "lti/train/trainer.h"
#include "lti/util/errors.h"
#include "model_fixtures.h"
#include "redis_server.h"

using namespace lti;

namespace {

// Empty when CUDA can be used, else why not.
std::string cuda_missing() {
  if (torch::cuda::is_available()) return "";
  try {
    pick_device("cuda");
  } catch (const Error& e) {
    return e.what();
  }
  return "no CUDA device";
}

#define LTI_REQUIRE_CUDA()                                                               \
  do {                                                                                   \
    const std::string why = cuda_missing();                                              \
    if (!why.empty()) {                                                                  \
      if (std::getenv("LTI_REQUIRE_CUDA")) FAIL() << "LTI_REQUIRE_CUDA is set: " << why; \
      std::cout << "[ NOT RUN  ] this CUDA test did not run: " << why << "\n";           \
      GTEST_SKIP() << "did not run: " << why;                                            \
    }                                                                                    \
  } while (0)

// Row-wise cosine of two [n, h] float arrays: the smallest.
double min_cosine(const std::vector<float>& a, const std::vector<float>& b, int64_t h) {
  const auto n = static_cast<int64_t>(a.size()) / h;
  const auto x = torch::from_blob(const_cast<float*>(a.data()), {n, h}).to(torch::kDouble);
  const auto y = torch::from_blob(const_cast<float*>(b.data()), {n, h}).to(torch::kDouble);
  return torch::cosine_similarity(x, y, 1).min().item<double>();
}

}  // namespace

TEST(Cuda, ForwardPassEqualsTheCpusInFp32) {
  LTI_REQUIRE_CUDA();
  torch::manual_seed(3);
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 200, 16000);
  const ModelConfig c = test::tiny_config(static_cast<int64_t>(data.encoders.item.num_known()),
                                          static_cast<int64_t>(data.encoders.category.num_known()));
  UserInterestModel model(c);
  model.train(false);
  const auto cpu = compute_user_vectors(model, data.data, 0, torch::kCPU);
  model.to(torch::kCUDA);
  const auto gpu = compute_user_vectors(model, data.data, 0, torch::kCUDA);
  ASSERT_EQ(cpu.size(), gpu.size());
  ASSERT_EQ(cpu.size(), data.data.num_users() * static_cast<size_t>(c.hidden_dim));
  const double cosine = min_cosine(cpu, gpu, c.hidden_dim);
  std::cout << "smallest CPU/CUDA cosine over " << data.data.num_users() << " users: " << cosine
            << "\n";
  EXPECT_GT(cosine, 0.9999);
}

TEST(Cuda, TrainsAndTheModelLoadsOnTheCpu) {
  LTI_REQUIRE_CUDA();
  test::TempDir dir;
  const Ingested data = test::planted_data(dir);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 3);
  o.device = "cuda";  // dropout, MoE dispatch and bias, LibTorch's Adam, all on the GPU
  Trainer trainer(data, o);
  const auto history = trainer.run();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_LT(history.back().loss, history.front().loss);
  EXPECT_GT(history.back().val_recall_at_10, 0.0);

  // Saved from the GPU, read back on the CPU and on the GPU: the same vectors.
  Encoders cpu_encoders, gpu_encoders;
  auto on_cpu = load_trained_model(dir.file("model"), torch::kCPU, &cpu_encoders);
  auto on_gpu = load_trained_model(dir.file("model"), torch::kCUDA, &gpu_encoders);
  const auto cpu = compute_user_vectors(*on_cpu, data.data, 0, torch::kCPU);
  const auto gpu = compute_user_vectors(*on_gpu, data.data, 0, torch::kCUDA);
  EXPECT_GT(min_cosine(cpu, gpu, on_cpu->config().hidden_dim), 0.9999);

  // And a CPU run resumes it.
  TrainOptions resume = o;
  resume.device = "cpu";
  resume.train.epochs = 4;
  resume.resume = true;
  Trainer resumed(data, resume);
  EXPECT_EQ(resumed.run().size(), 1u);
}

TEST(Cuda, BfloatSixteenTrainingRunsOnTheGpu) {
  LTI_REQUIRE_CUDA();
  test::TempDir dir;
  const Ingested data = test::planted_data(dir);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 2);
  o.device = "cuda";
  o.precision = "bf16";
  Trainer trainer(data, o);
  const auto history = trainer.run();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(std::isfinite(history.back().loss));
  EXPECT_LT(history.back().loss, history.front().loss);
}

TEST(Cuda, AProcessGroupOfOneSumsCudaTensors) {
  LTI_REQUIRE_CUDA();
  LaunchEnvironment env;
  env.master_port = test::free_loopback_port();
  ProcessGroup group(env, torch::Device(torch::kCUDA, 0));  // NCCL where built with it
  auto t = torch::tensor({1.0f, 2.0f}, torch::kCUDA);
  group.sum_in_place(t);
  EXPECT_TRUE(torch::equal(t.cpu(), torch::tensor({1.0f, 2.0f})));
  std::vector<torch::Tensor> params = {torch::zeros({2}, torch::kCUDA)};
  params[0].mutable_grad() = torch::tensor({4.0f, 6.0f}, torch::kCUDA);
  group.average_gradients(params, 1 << 20);
  EXPECT_TRUE(torch::equal(params[0].grad().cpu(), torch::tensor({4.0f, 6.0f})));
  EXPECT_EQ(group.sum(2.5), 2.5);
  group.barrier();
}
