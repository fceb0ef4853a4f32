// Where and how the computation runs: device choice and thread count.
#pragma once

#include <torch/torch.h>

#include <string>

namespace lti {

// "auto" (CUDA when LibTorch sees a GPU, else CPU), "cpu" or "cuda" (an error without a GPU).
torch::Device pick_device(const std::string& choice);

// Intra-op threads for LibTorch; 0 = every available CPU. Returns the number set. The first
// call also logs which BLAS was found, and warns when it is the pthread OpenBLAS.
int set_threads(int threads);

// The BLAS that LibTorch calls (found at run time).
struct BlasThreading {
  std::string description;  // e.g. "OpenBLAS 0.3.21 ... (OpenMP threads)"
  bool pthread_openblas = false;
  bool openmp_openblas = false;  // what scripts/install-deps.sh selects
};
BlasThreading blas_threading();

}  // namespace lti
