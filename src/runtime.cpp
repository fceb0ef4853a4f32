#include "lti/runtime.h"

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
  torch::set_num_threads(threads);
  return threads;
}

}  // namespace lti
