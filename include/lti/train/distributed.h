// Running as one rank of a distributed job: the rendezvous and the collectives that training
// needs. LibTorch has no C++ DistributedDataParallel; this is the part
// of it lti uses (gradients averaged in buckets after backward, parameters broadcast once).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "lti/util/launch.h"

namespace lti {

// A process group over all ranks: Gloo on CPU, NCCL for CUDA tensors when LibTorch has it.
class ProcessGroup {
 public:
  // Rendezvous through c10d's TCPStore at MASTER_ADDR:MASTER_PORT (rank 0 hosts it unless the
  // launcher does). Throws Error(kExitFailure) naming the address when it cannot be reached.
  ProcessGroup(const LaunchEnvironment& env, const torch::Device& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Every rank gets rank 0's values (in place).
  void broadcast_from_first(const std::vector<torch::Tensor>& tensors);
  // Replaces each parameter's gradient by its mean over the ranks, all-reducing flattened
  // buckets of about `bucket_bytes`. A rank without a gradient for a parameter (no token chose
  // that expert there) counts as zero; a parameter without a gradient on every rank keeps none,
  // so Adam leaves it alone as it does in one process.
  void average_gradients(const std::vector<torch::Tensor>& parameters,
                         int64_t bucket_bytes = 25 << 20);
  void sum_in_place(torch::Tensor& tensor);
  double sum(double value);
  // True when `value` is the same on every rank (exactly).
  bool same_on_all_ranks(double value);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
  torch::Device device_;
};

}  // namespace lti
