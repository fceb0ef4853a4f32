#include "lti/model/runtime.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <ATen/Context.h>
#include <torch/version.h>

#include <cstdlib>
#include <thread>

#include "lti/util/errors.h"

namespace lti {

namespace {

// Why CUDA cannot be used, asked of the CUDA runtime that a CUDA LibTorch loads (through dlsym,
// so this file needs no CUDA header and builds against a CPU-only LibTorch too).
std::string cuda_unavailable_reason() {
  using GetDeviceCount = int (*)(int*);
  using GetErrorString = const char* (*)(int);
  const auto get_count =
      reinterpret_cast<GetDeviceCount>(::dlsym(RTLD_DEFAULT, "cudaGetDeviceCount"));
  const auto get_error =
      reinterpret_cast<GetErrorString>(::dlsym(RTLD_DEFAULT, "cudaGetErrorString"));
  if (!get_count) return "this LibTorch " TORCH_VERSION " is built without CUDA";
  // Without a driver the runtime's own words ("driver version is insufficient") mislead.
  void* driver = ::dlopen("libcuda.so.1", RTLD_LAZY);
  if (!driver) return "no NVIDIA driver on this machine (libcuda.so.1 not found)";
  ::dlclose(driver);
  int count = 0;
  const int status = get_count(&count);
  if (status != 0)
    return std::string("the CUDA runtime says: ") +
           (get_error ? get_error(status) : "error " + std::to_string(status));
  if (count == 0) return "the CUDA runtime finds no GPU";
  return "LibTorch cannot use the " + std::to_string(count) + " GPU(s) the CUDA runtime finds";
}

}  // namespace

torch::Device pick_device(const std::string& choice) {
  const bool cuda_device = choice == "cuda" || choice.rfind("cuda:", 0) == 0;
  if (choice != "cpu" && choice != "auto" && !cuda_device)
    throw Error(kExitUsage, "--device must be auto, cpu or cuda, not '" + choice + "'");
  if (choice == "cpu") return torch::Device(torch::kCPU);
  const bool cuda = torch::cuda::is_available();
  if (cuda_device) {
    if (!cuda) throw Error(kExitUsage, "--device " + choice + ": " + cuda_unavailable_reason());
    torch::Device device(choice);  // "cuda" or a rank's own GPU, "cuda:N"
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    if (device.has_index() && device.index() >= count)
      throw Error(kExitUsage,
                  "--device " + choice + ": this machine has " + std::to_string(count) + " GPU(s)");
    return device;
  }
  if (cuda) return torch::Device(torch::kCUDA);
  static bool reported = false;  // once per process: eval and export pick a device several times
  if (!reported) {
    reported = true;
    spdlog::info("--device auto: running on the CPU ({})", cuda_unavailable_reason());
  }
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
          "threads and training runs slower (select libopenblas0-openmp, or build against "
          "the LibTorch that scripts/install-deps.sh installs)");
  }
  return threads;
}

BlasThreading blas_threading() {
  BlasThreading b;
  // The PyPI wheel's LibTorch has MKL linked in, threaded by the same OpenMP runtime.
  if (at::hasMKL()) {
    b.description = "MKL, inside LibTorch (OpenMP threads)";
    b.shares_libtorch_threads = true;
    return b;
  }
  // A LibTorch built against the system's BLAS (Debian's calls libblas.so.3, chosen by Debian's
  // alternatives, not at link time), found at run time. openblas_get_parallel: 0 sequential,
  // 1 pthreads, 2 OpenMP.
  using GetParallel = int (*)();
  using GetConfig = char* (*)();
  const auto get_parallel =
      reinterpret_cast<GetParallel>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  const auto get_config = reinterpret_cast<GetConfig>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (!get_parallel) {
    b.description = "not MKL or OpenBLAS (reference or another BLAS)";
    return b;
  }
  const int mode = get_parallel();
  b.pthread_openblas = mode == 1;
  b.shares_libtorch_threads = mode == 2;
  b.description =
      std::string(get_config ? get_config() : "OpenBLAS") + (mode == 2   ? " (OpenMP threads)"
                                                             : mode == 1 ? " (pthread threads)"
                                                                         : " (sequential)");
  return b;
}

}  // namespace lti
