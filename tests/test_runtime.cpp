// Device, threads and BLAS (src/runtime.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "lti/errors.h"
#include "lti/runtime.h"
#include "test_util.h"

using namespace lti;

TEST(Runtime, TheOpenMpOpenBlasIsSelected) {
  // scripts/install-deps.sh selects libopenblas0-openmp for libblas.so.3, liblapack.so.3 and
  // libopenblas.so.0: the pthread build spins its threads against LibTorch's OpenMP pool.
  const BlasThreading blas = blas_threading();
  if (!blas.openmp_openblas)
    LTI_SKIP_OR_FAIL_IN_CI("LibTorch's BLAS is " + blas.description +
                           ", not the OpenMP OpenBLAS that scripts/install-deps.sh selects");
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
    EXPECT_THROW(pick_device("cuda"), Error);
  }
  EXPECT_THROW(pick_device("tpu"), Error);
}
