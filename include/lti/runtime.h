// Where and how the computation runs: device choice and thread count.
#pragma once

#include <torch/torch.h>

#include <string>

namespace lti {

// "auto" (CUDA when LibTorch sees a GPU, else CPU), "cpu" or "cuda" (an error without a GPU).
torch::Device pick_device(const std::string& choice);

// Intra-op threads for LibTorch; 0 = every available CPU. Returns the number set.
int set_threads(int threads);

}  // namespace lti
