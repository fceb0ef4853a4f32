// Where and how the computation runs: device choice and thread count.
#pragma once

#include <torch/torch.h>

#include <string>

namespace lti {

// "auto" (CUDA when LibTorch sees a GPU, else the CPU, said once in the log), "cpu", or "cuda"
// / "cuda:N" (without a usable GPU: Error(kExitUsage) naming the device and the CUDA runtime's
// reason, such as no GPU or a driver too old for this build's CUDA).
torch::Device pick_device(const std::string& choice);

// Intra-op threads for LibTorch; 0 = every available CPU. Returns the number set. The first
// call also logs which BLAS was found, and warns when it is the pthread OpenBLAS.
int set_threads(int threads);

// The BLAS that LibTorch calls (found at run time).
struct BlasThreading {
  std::string description;               // e.g. "MKL, inside LibTorch (OpenMP threads)"
  bool pthread_openblas = false;         // its own threads compete with LibTorch's
  bool shares_libtorch_threads = false;  // MKL or OpenBLAS on LibTorch's OpenMP pool
};
BlasThreading blas_threading();

}  // namespace lti
