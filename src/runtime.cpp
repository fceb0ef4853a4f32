#include "lti/runtime.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <thread>

#include "lti/errors.h"

namespace lti {

torch::Device pick_device(const std::string& choice) {
  const bool cuda = torch::cuda::is_available();
  if (choice == "cuda" && !cuda)
    throw Error(kExitUsage, "--device cuda: no CUDA device is visible to this LibTorch build");
  if (choice == "cuda" || (choice == "auto" && cuda)) return torch::Device(torch::kCUDA);
  if (choice.rfind("cuda:", 0) == 0 && cuda) return torch::Device(choice);  // a rank's own GPU
  if (choice != "cpu" && choice != "auto")
    throw Error(kExitUsage, "--device must be auto, cpu or cuda, not '" + choice + "'");
  return torch::Device(torch::kCPU);
}

int set_threads(int threads) {
  if (threads <= 0) {
    // All CPUs, shared out among the ranks a launcher started on this machine.
    unsigned ranks_here = 1;
    if (const char* local = std::getenv("LOCAL_WORLD_SIZE"))
      ranks_here = std::max(1, std::atoi(local));
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / ranks_here));
  }
  torch::set_num_threads(threads);  // LibTorch's OpenMP pool, which an OpenMP OpenBLAS shares
  static bool reported = false;
  if (!reported) {
    reported = true;
    const BlasThreading blas = blas_threading();
    spdlog::info("BLAS: {}", blas.description);
    if (blas.pthread_openblas)
      spdlog::warn(
          "OpenBLAS is the pthread build: its threads compete with LibTorch's OpenMP "
          "threads and training runs slower; scripts/install-deps.sh selects "
          "libopenblas0-openmp (README, Building)");
  }
  return threads;
}

BlasThreading blas_threading() {
  // Looked up at run time: the BLAS behind libblas.so.3 is chosen by Debian's alternatives,
  // not at link time. openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP.
  using GetParallel = int (*)();
  using GetConfig = char* (*)();
  const auto get_parallel =
      reinterpret_cast<GetParallel>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  const auto get_config = reinterpret_cast<GetConfig>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  BlasThreading b;
  if (!get_parallel) {
    b.description = "not OpenBLAS (reference or another BLAS)";
    return b;
  }
  const int mode = get_parallel();
  b.pthread_openblas = mode == 1;
  b.openmp_openblas = mode == 2;
  b.description =
      std::string(get_config ? get_config() : "OpenBLAS") + (mode == 2   ? " (OpenMP threads)"
                                                             : mode == 1 ? " (pthread threads)"
                                                                         : " (sequential)");
  return b;
}

}  // namespace lti
