#include "lti/train/distributed.h"

#include <spdlog/spdlog.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LTI_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>

#include "lti/util/errors.h"
#include "lti/util/interrupt.h"

namespace lti {

// LibTorch 2 made the process group a front for per-device "backends"; lti calls the backend's
// collectives directly.
using Collectives = c10d::Backend;

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collectives> group;
};

ProcessGroup::ProcessGroup(const LaunchEnvironment& env, const torch::Device& device)
    : impl_(std::make_unique<Impl>()), rank_(env.rank), size_(env.world_size), device_(device) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(env.master_port);
  // Under torchrun's agent store every rank is a client; otherwise rank 0 hosts the store.
  store_options.isServer = env.rank == 0 && !env.agent_store;
  store_options.numWorkers = static_cast<size_t>(env.world_size);
  store_options.waitWorkers = false;
  store_options.timeout = std::chrono::minutes(5);
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  spdlog::info("rank {} of {}: waiting for the other ranks at {} (up to 5 min)", env.rank,
               env.world_size, where);
  // Nothing is written while the ranks meet, and the wait cannot poll for a stop signal: one
  // ends the process at once (a launcher stopping the others when one rank failed included).
  const StopAtOnce stop_at_once("waiting for the other ranks");
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    // Our keys apart from those of a launcher that hosts the store.
    auto store = c10::make_intrusive<c10d::PrefixStore>("lti", impl_->store);
#ifdef LTI_WITH_NCCL
    if (device.is_cuda()) {
      impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size);
    }
#endif
    if (!impl_->group) {
      auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::minutes(30));
      const std::string host =
          env.master_addr == "127.0.0.1" || env.master_addr == "localhost" ? "127.0.0.1" : "";
      options->devices.push_back(host.empty()
                                     ? c10d::ProcessGroupGloo::createDefaultDevice()
                                     : c10d::ProcessGroupGloo::createDeviceForHostname(host));
      options->threads = 2;
      impl_->group =
          c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, options);
    }
  } catch (const std::exception& e) {
    throw Error(kExitFailure, "rank " + std::to_string(env.rank) + " of " +
                                  std::to_string(env.world_size) +
                                  ": cannot join the process group at " + where + ": " + e.what());
  }
  spdlog::info("rank {} of {} joined the process group at {} ({})", env.rank, env.world_size, where,
               impl_->group->getBackendName());
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::broadcast_from_first(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one{t.detach()};
    impl_->group->broadcast(one)->wait();
  }
}

void ProcessGroup::sum_in_place(torch::Tensor& tensor) {
  std::vector<torch::Tensor> one{tensor};
  impl_->group->allreduce(one)->wait();
}

double ProcessGroup::sum(double value) {
  auto t = torch::tensor({value}, torch::dtype(torch::kFloat64).device(device_));
  sum_in_place(t);
  return t.item<double>();
}

bool ProcessGroup::same_on_all_ranks(double value) {
  // max(v) == -max(-v) exactly when every rank holds the same v.
  auto t = torch::tensor({value, -value}, torch::dtype(torch::kFloat64).device(device_));
  std::vector<torch::Tensor> one{t};
  c10d::AllreduceOptions max;
  max.reduceOp = c10d::ReduceOp::MAX;
  impl_->group->allreduce(one, max)->wait();
  return t[0].item<double>() == -t[1].item<double>();
}

void ProcessGroup::barrier() { impl_->group->barrier()->wait(); }

void ProcessGroup::average_gradients(const std::vector<torch::Tensor>& parameters,
                                     int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(parameters.size());
  // How many ranks hold a gradient for each parameter.
  std::vector<float> has_gradient;
  for (const auto& p : parameters) has_gradient.push_back(p.grad().defined() ? 1.0f : 0.0f);
  auto holders = torch::tensor(has_gradient).to(device_);
  sum_in_place(holders);

  std::vector<torch::Tensor> grads(parameters.size());
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& p = parameters[i];
    grads[i] = p.grad().defined() ? p.grad() : torch::zeros_like(p);
  }
  size_t first = 0;
  while (first < grads.size()) {
    // One bucket: consecutive gradients of the same dtype up to bucket_bytes.
    size_t last = first;
    int64_t bytes = 0;
    while (last < grads.size() && grads[last].scalar_type() == grads[first].scalar_type() &&
           (last == first || bytes + grads[last].nbytes() <= static_cast<size_t>(bucket_bytes)))
      bytes += static_cast<int64_t>(grads[last++].nbytes());
    std::vector<torch::Tensor> flat_parts;
    for (size_t i = first; i < last; ++i) flat_parts.push_back(grads[i].reshape({-1}));
    torch::Tensor bucket = torch::cat(flat_parts);
    sum_in_place(bucket);
    bucket.div_(static_cast<double>(size_));
    int64_t offset = 0;
    for (size_t i = first; i < last; ++i) {
      const int64_t numel = grads[i].numel();
      grads[i].copy_(bucket.narrow(0, offset, numel).view_as(grads[i]));
      offset += numel;
    }
    first = last;
  }
  const auto held = holders.to(torch::kCPU);
  for (int64_t i = 0; i < n; ++i) {
    auto& p = parameters[static_cast<size_t>(i)];
    if (held[i].item<float>() == 0.0f) {
      p.mutable_grad() = torch::Tensor();
    } else if (!p.grad().defined()) {
      p.mutable_grad() = grads[static_cast<size_t>(i)];
    }
  }
}

}  // namespace lti
