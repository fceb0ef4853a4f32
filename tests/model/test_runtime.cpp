// Device, threads and BLAS (src/model/runtime.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "lti/model/runtime.h"
#include "lti/util/errors.h"
#include "test_util.h"

using namespace lti;

TEST(Runtime, TheBlasSharesLibTorchsOpenMpThreads) {
  // The wheel's LibTorch (scripts/install-deps.sh) has MKL on LibTorch's own OpenMP pool; a
  // pthread OpenBLAS would spin its threads against that pool.
  const BlasThreading blas = blas_threading();
  if (!blas.shares_libtorch_threads)
    LTI_SKIP_OR_FAIL_IN_CI("LibTorch's BLAS is " + blas.description +
                           ", not one on LibTorch's OpenMP threads");
  EXPECT_FALSE(blas.pthread_openblas);
  EXPECT_NE(blas.description.find("OpenMP"), std::string::npos) << blas.description;
}

TEST(Runtime, ThreadsAreSetOnceForLibTorch) {
  EXPECT_EQ(set_threads(1), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  if (std::getenv("LOCAL_WORLD_SIZE") == nullptr) {
    const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    EXPECT_EQ(set_threads(0), all);
    EXPECT_EQ(torch::get_num_threads(), all);
  }
  set_threads(1);
}

TEST(Runtime, DeviceChoices) {
  EXPECT_TRUE(pick_device("cpu").is_cpu());
  EXPECT_EQ(pick_device("auto").is_cuda(), torch::cuda::is_available());
  if (!torch::cuda::is_available()) {
    // The error names the device and says why (the CUDA runtime's own words), exit code 2.
    try {
      pick_device("cuda");
      ADD_FAILURE() << "--device cuda without a usable GPU did not throw";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage);
      const std::string what = e.what();
      EXPECT_NE(what.find("--device cuda: "), std::string::npos) << what;
      EXPECT_GT(what.size(), std::string("--device cuda: ").size() + 10) << what;
    }
    EXPECT_THROW(pick_device("cuda:0"), Error);
  } else {
    EXPECT_TRUE(pick_device("cuda:0").is_cuda());
    EXPECT_THROW(pick_device("cuda:" + std::to_string(torch::cuda::device_count())), Error);
  }
  EXPECT_THROW(pick_device("tpu"), Error);
}
