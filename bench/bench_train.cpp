// Training throughput benchmark at a given configuration, with a breakdown of where a step's
// time goes and the fraction of this machine's matrix-multiply peak that it reaches.
//   bench_train DATA_PATH [STEPS] [BATCH] [THREADS] [PRECISION: fp32|bf16|auto]
// With LTI_PROFILE=trace.json, LibTorch's profiler records the last step's operators there (a
// Chrome trace: chrome://tracing, or sum each operator's time from its "X" events).
// LTI_TORCH_ADAM=1 steps with LibTorch's Adam instead of lti::Adam, to compare the two.
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "lti/data/batch.h"
#include "lti/data/ingest.h"
#include "lti/data/sequences.h"
#include "lti/model/model.h"
#include "lti/model/precision.h"
#include "lti/model/runtime.h"
#include "lti/train/adam.h"
#include "lti/train/objective.h"
#include "lti/util/allocator.h"

using Clock = std::chrono::steady_clock;

static double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Forward FLOPs of one step from the padded shapes (multiply-add = 2 FLOPs).
static double forward_flops(const lti::ModelConfig& c, int64_t batch, int64_t len, int64_t valid) {
  const double h = c.hidden_dim, inner = c.heads * c.dim_head, t = len + 1;
  const double embed = 2.0 * batch * len * (c.item_embedding_dim + c.cate_embedding_dim + 36) * h;
  const double moe =
      2.0 * valid * (h * c.moe_experts + 3.0 * h * c.moe_hidden * (c.moe_shared + c.moe_activated));
  const double layer =
      2.0 * batch * t * (h * 3 * inner + inner * h + 8 * h * h) + 4.0 * batch * t * t * inner;
  return embed + moe + layer * c.depth;  // (the last block's CLS-only saving is ignored)
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_PATH [STEPS] [BATCH] [THREADS] [PRECISION]\n", argv[0]);
    return 2;
  }
  lti::keep_freed_memory_for_reuse();  // as `lti` does
  const int steps = argc > 2 ? std::stoi(argv[2]) : 3;
  const int64_t batch_size = argc > 3 ? std::stol(argv[3]) : 256;
  const int threads = lti::set_threads(argc > 4 ? std::stoi(argv[4]) : 0);
  const lti::Precision precision =
      lti::resolve_precision(argc > 5 ? argv[5] : "fp32", torch::Device(torch::kCPU));

  // Matrix-multiply peak of this machine with this LibTorch/BLAS.
  double peak = 0;
  {
    const auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
    torch::mm(a, b);
    const auto t0 = Clock::now();
    for (int i = 0; i < 5; ++i) torch::mm(a, b);
    peak = 5 * 2.0 * 2048 * 2048 * 2048 / secs(t0, Clock::now()) / 1e9;
  }

  const lti::Ingested in = lti::ingest(argv[1], {}, 1);
  lti::ModelConfig config;
  config.depth = 4;  // the shape docs/performance.md's figures were taken at, across builds
  config.num_items = static_cast<int64_t>(in.encoders.item.num_known());
  config.num_categories = static_cast<int64_t>(in.encoders.category.num_known());
  torch::manual_seed(1);
  lti::UserInterestModel model(config);
  model.train(true);
  model.moe_layer->begin_epoch();
  // LTI_TORCH_ADAM=1: LibTorch's Adam, for comparison.
  std::unique_ptr<torch::optim::Adam> adam =
      std::getenv("LTI_TORCH_ADAM")
          ? std::make_unique<torch::optim::Adam>(model.parameters(),
                                                 torch::optim::AdamOptions(1e-3))
          : std::make_unique<lti::Adam>(model.parameters(), torch::optim::AdamOptions(1e-3));
  lti::Rng rng(1);

  double t_data = 0, t_embed = 0, t_moe = 0, t_tower = 0, t_backward = 0, t_adam = 0, flops = 0;
  int64_t tokens = 0;
  size_t next_user = 0;
  const auto start = Clock::now();
  for (int s = 0; s < steps; ++s) {
    std::unique_ptr<torch::autograd::profiler::RecordProfile> prof;
    if (s == steps - 1 && std::getenv("LTI_PROFILE"))
      prof = std::make_unique<torch::autograd::profiler::RecordProfile>(std::getenv("LTI_PROFILE"));
    auto t0 = Clock::now();
    std::vector<lti::RowRange> longs, shorts;
    while (static_cast<int64_t>(longs.size()) < batch_size) {
      const auto split = lti::split_user(in.data.user_rows(next_user++ % in.data.num_users()));
      if (!split.trainable()) continue;
      longs.push_back(split.long_part);
      shorts.push_back(split.short_part);
    }
    const auto lb = lti::make_batch(in.data, longs, config.n_max, lti::kBatchLongest);
    const auto sb = lti::make_batch(in.data, shorts, config.k_max, lti::kBatchLongest);
    const auto lt = lti::BatchTensors::from(lb, torch::kCPU),
               st = lti::BatchTensors::from(sb, torch::kCPU);
    const int64_t lvalid = lt.valid.sum().item<int64_t>(), svalid = st.valid.sum().item<int64_t>();
    tokens += lvalid + svalid;
    flops += 3 * (forward_flops(config, lb.batch, lb.length, lvalid) +
                  forward_flops(config, sb.batch, sb.length, svalid));
    auto t1 = Clock::now();
    t_data += secs(t0, t1);

    for (auto& p : model.parameters()) p.mutable_grad() = torch::Tensor();
    std::optional<lti::AutocastScope> autocast;  // the forward pass only, as in training
    autocast.emplace(precision, torch::Device(torch::kCPU));
    auto e1 = model.feature_embedding(lt), e2 = model.feature_embedding(st);
    auto t2 = Clock::now();
    auto m1 = model.moe_layer(e1, lt.valid), m2 = model.moe_layer(e2, st.valid);
    auto t3 = Clock::now();
    auto l = model.long_term(m1, lt.position).to(torch::kFloat),
         v = model.short_term(m2, st.position).to(torch::kFloat);
    autocast.reset();
    auto loss = lti::bpr_loss(l, v, torch::tensor(lti::random_derangement(l.size(0), rng)));
    loss.item<double>();
    auto t4 = Clock::now();
    loss.backward();
    auto t5 = Clock::now();
    adam->step();
    auto t6 = Clock::now();
    t_embed += secs(t1, t2);
    t_moe += secs(t2, t3);
    t_tower += secs(t3, t4);
    t_backward += secs(t4, t5);
    t_adam += secs(t5, t6);
    std::printf("step %d: loss %.4f, %.2f s\n", s + 1, loss.item<double>(), secs(t0, t6));
  }
  const double total = secs(start, Clock::now());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("threads %d, batch %lld, %d steps, %lld parameters, %s\n", threads,
              (long long)batch_size, steps, (long long)model.parameter_count(),
              lti::precision_name(precision));
  std::printf("%.0f tokens/s, %.3f steps/s, peak RSS %.2f GiB\n", tokens / total, steps / total,
              usage.ru_maxrss / 1048576.0);
  std::printf(
      "time: data %.1f%%, embedding fwd %.1f%%, MoE fwd %.1f%%, towers+loss fwd %.1f%%, backward "
      "%.1f%%, Adam %.1f%%\n",
      100 * t_data / total, 100 * t_embed / total, 100 * t_moe / total, 100 * t_tower / total,
      100 * t_backward / total, 100 * t_adam / total);
  std::printf("model %.1f GFLOP/s of a %.1f GFLOP/s matmul peak (%.0f%%)\n", flops / total / 1e9,
              peak, 100 * flops / total / 1e9 / peak);
  return 0;
}
