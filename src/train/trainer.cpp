#include "lti/train/trainer.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <optional>

#include <fmt/format.h>

#include "lti/data/batch.h"
#include "lti/data/data_summary.h"
#include "lti/data/sequences.h"
#include "lti/model/runtime.h"
#include "lti/train/evaluation.h"
#include "lti/train/objective.h"
#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"
#include "lti/util/interrupt.h"

namespace lti {

namespace {

// Users in one chunk of a step (Trainer::Prepared): small enough that a chunk of similar
// lengths pads little, large enough that its products still fill the cores (32 x 257
// positions).
constexpr size_t kUsersPerChunk = 32;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int64_t valid_tokens(const SequenceBatch& b) {
  int64_t n = 0;
  for (int64_t p : b.position) n += p > 0;
  return n;
}

// A progress bar on a terminal; a plain line every 10 s otherwise (logs, CI).
class Progress {
 public:
  Progress(bool enabled, int64_t epoch, int64_t total)
      : enabled_(enabled), tty_(::isatty(STDERR_FILENO)), epoch_(epoch), total_(total) {}
  void update(int64_t step, double loss) {
    if (!enabled_) return;
    const double elapsed = seconds_since(start_);
    if (tty_) {
      const int width = 30, filled = static_cast<int>(width * step / std::max<int64_t>(total_, 1));
      std::fprintf(stderr, "\repoch %lld [%s%s] %lld/%lld loss %.4f %.0fs", (long long)epoch_,
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   (long long)step, (long long)total_, loss, elapsed);
      if (step == total_) std::fprintf(stderr, "\n");
    } else if (elapsed - last_line_ >= 10.0 || step == total_) {
      last_line_ = elapsed;
      spdlog::info("epoch {} step {}/{} loss {:.4f} ({:.0f} s)", epoch_, step, total_, loss,
                   elapsed);
    }
  }

 private:
  bool enabled_, tty_;
  int64_t epoch_, total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_line_ = 0;
};

}  // namespace

nlohmann::json EpochStats::to_json() const {
  nlohmann::json j = {{"epoch", epoch},
                      {"steps", steps},
                      {"loss", loss},
                      {"val_loss", val_loss},
                      {"val_separation", val_separation},
                      {"val_recall_at_10", val_recall_at_10},
                      {"val_mrr", val_mrr},
                      {"tokens_per_s", tokens_per_s},
                      {"real_tokens", real_tokens},
                      {"padding_tokens", padding_tokens},
                      {"seconds", seconds},
                      {"expert_usage", usage.to_json()}};
  if (test_mrr >= 0) {
    j["test_recall_at_10"] = test_recall_at_10;
    j["test_mrr"] = test_mrr;
    j["test_pooling_recall_at_10"] = test_pooling_recall_at_10;
    j["test_pooling_mrr"] = test_pooling_mrr;
  }
  return j;
}

std::string EpochStats::summary_line() const {
  return fmt::format(
      "epoch {} loss {:.4f} val_loss {:.4f} val_sep {:.4f} val_R@10 {:.4f} val_MRR {:.4f} {:.0f} "
      "tokens/s ({:.0f}% of positions real) {:.1f} s | {}",
      epoch, loss, val_loss, val_separation, val_recall_at_10, val_mrr, tokens_per_s,
      100.0 * real_tokens / std::max<int64_t>(1, real_tokens + padding_tokens), seconds,
      usage.summary());
}

Trainer::Trainer(const Ingested& data, TrainOptions options)
    : data_(data), options_(std::move(options)), device_(pick_device(options_.device)) {
  options_.model.num_items = static_cast<int64_t>(data.encoders.item.num_known());
  options_.model.num_categories = static_cast<int64_t>(data.encoders.category.num_known());
  options_.model.min_item_count = data.encoders.item.min_count();
  options_.model.validate();
  const TrainConfig& t = options_.train;
  if (t.val_fraction < 0 || t.test_fraction < 0 || t.val_fraction + t.test_fraction >= 1)
    throw Error(kExitUsage,
                "--val_fraction and --test_fraction must be >= 0 and leave users to "
                "train on (their sum below 1)");
  train_rule_ = SplitRule::named(t.split, static_cast<int>(t.min_gap_hours), "--split");
  eval_rule_ = SplitRule::named(t.eval_split, static_cast<int>(t.min_gap_hours), "--eval_split");
  if (t.short_time != "kept" && t.short_time != "moved")
    throw Error(kExitUsage, "--short_time must be kept or moved, not '" + t.short_time + "'");
  if (t.one_sitting != "skip" && t.one_sitting != "count")
    throw Error(kExitUsage, "--one_sitting must be skip or count, not '" + t.one_sitting + "'");
  if (t.val_one_sitting != "skip" && t.val_one_sitting != "moved")
    throw Error(kExitUsage,
                "--val_one_sitting must be skip or moved, not '" + t.val_one_sitting + "'");
  const bool count_one_sitting =
      train_rule_.kind == SplitRule::Kind::kGap && t.one_sitting == "count";
  const bool score_one_sitting =
      eval_rule_.kind == SplitRule::Kind::kGap && t.val_one_sitting == "moved";
  size_t val_unscored = 0, train_unsplit = 0, train_one_sitting = 0;
  for (size_t u = 0; u < data.data.num_users(); ++u) {
    const UserRole role = user_role(data.data.user_raw_id[u], t.val_fraction, t.test_fraction);
    if (role == UserRole::kTest) {
      ++test_users_;
      if (options_.trace_test_users &&
          split_user(data.data, data.data.user_rows(u), eval_rule_).trainable())
        traced_test_users_.push_back(u);
      continue;
    }
    // Validation users are cut as they are scored, training users as they are trained on.
    const bool validation = role == UserRole::kValidation;
    const RowRange rows = data.data.user_rows(u);
    if (split_user(data.data, rows, validation ? eval_rule_ : train_rule_).trainable()) {
      (validation ? val_users_ : train_users_).push_back(u);
    } else if (validation && score_one_sitting && split_user(rows).trainable()) {
      val_moved_users_.push_back(u);
    } else if (!validation && count_one_sitting && split_user(rows).trainable()) {
      train_users_.push_back(u);
      ++train_one_sitting;
    } else {
      (validation ? val_unscored : train_unsplit) += rows.size() > 1;
    }
  }
  if (scored_validation_users() < 2 && t.val_fraction > 0)
    spdlog::warn(
        "validation: {} validation user(s) can be scored{}: every epoch counts as the "
        "best, and the last one is kept",
        scored_validation_users(),
        eval_rule_.kind == SplitRule::Kind::kGap
            ? fmt::format(" at a pause of {} h ({} in one sitting{})", t.min_gap_hours,
                          val_unscored,
                          score_one_sitting ? "" : "; --val_one_sitting moved scores them")
            : std::string());
  else if (eval_rule_.kind == SplitRule::Kind::kGap && val_unscored > 0)
    spdlog::info(
        "validation: {} of {} validation users with two or more interactions have no "
        "pause of {} h to split at (one sitting) and are not scored",
        val_unscored, val_unscored + val_users_.size(), t.min_gap_hours);
  if (!val_moved_users_.empty())
    spdlog::info(
        "validation: {} validation users have no pause of {} h (one sitting) and are scored "
        "on the 90/10 cut with their short part moved in time (--val_one_sitting moved)",
        val_moved_users_.size(), t.min_gap_hours);
  if (train_rule_.kind == SplitRule::Kind::kGap && train_unsplit > 0)
    spdlog::info(
        "--split gap: {} training users with two or more interactions have no pause of {} "
        "h to split at (one sitting) and are not trained on (--one_sitting count trains on "
        "them)",
        train_unsplit, t.min_gap_hours);
  if (train_one_sitting > 0)
    spdlog::info(
        "--split gap: {} training users have no pause of {} h (one sitting) and are trained "
        "on the 90/10 cut (--one_sitting count)",
        train_one_sitting, t.min_gap_hours);
  group_ = options_.process_group.get();
  const size_t ranks = group_ ? static_cast<size_t>(group_->size()) : 1;
  if (train_users_.size() < 2 * ranks)
    throw InputError(
        "training needs at least two users with two or more interactions" +
        (ranks > 1 ? " per rank" : std::string()) + "; found " +
        std::to_string(train_users_.size()) +
        (train_rule_.kind == SplitRule::Kind::kGap && train_unsplit > 0
             ? fmt::format(" that can be split at a pause of {} h ({} more are in one sitting: "
                           "--one_sitting count trains on them)",
                           t.min_gap_hours, train_unsplit)
             : std::string()));
  data_summary_ = DataSummary::compute(data.stats, data.data, data.encoders).to_json();
  torch::manual_seed(options_.train.seed);
  model_ = std::make_unique<UserInterestModel>(options_.model);
  model_->to(device_);
  precision_ = resolve_precision(options_.precision, device_);
  model_->set_precision(precision_);
  optimizer_ = std::make_unique<Adam>(parameter_groups(), torch::optim::AdamOptions(t.lr));
  if (options_.train.ema_steps > 0)
    average_ = std::make_unique<WeightAverage>(model_->parameters(),
                                               static_cast<double>(options_.train.ema_steps));
  // Same seed, same initial weights on every rank already; the broadcast makes it a guarantee.
  if (group_) group_->broadcast_from_first(model_->parameters());
}

std::vector<torch::optim::OptimizerParamGroup> Trainer::parameter_groups() const {
  const TrainConfig& t = options_.train;
  if (t.embedding_lr <= 0 || t.embedding_lr == t.lr) return {{model_->parameters()}};
  // The tables in one group at --embedding_lr, everything else in another at --lr.
  const auto& f = *model_->feature_embedding;
  std::vector<torch::Tensor> tables, rest;
  for (const torch::nn::Embedding* e :
       {&f.item, &f.category, &f.weekday, &f.hour, &f.weekend, &f.behavior})
    tables.push_back((*e)->weight);
  for (const auto& p : model_->parameters()) {
    const bool table = std::any_of(tables.begin(), tables.end(),
                                   [&](const torch::Tensor& w) { return w.is_same(p); });
    if (!table) rest.push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(rest);
  groups.emplace_back(tables, std::make_unique<torch::optim::AdamOptions>(t.embedding_lr));
  return groups;
}

UserSplit Trainer::training_split(size_t user, int64_t epoch) const {
  RowRange rows = data_.data.user_rows(user);
  const double min_prefix = options_.train.min_prefix;
  if (min_prefix < 1.0 && rows.size() > 2) {
    Rng rng(options_.train.seed ^ 0x707265666978ULL,
            (static_cast<uint64_t>(epoch) << 32) ^ static_cast<uint64_t>(user));
    const double share = min_prefix + (1.0 - min_prefix) * rng.uniform();
    const auto keep = static_cast<uint64_t>(std::ceil(share * static_cast<double>(rows.size())));
    rows.end = rows.begin + std::clamp<uint64_t>(keep, 2, rows.size());
  }
  const UserSplit s = split_user(data_.data, rows, train_rule_);
  if (s.trainable()) return s;
  // Under the gap rule a prefix may end before the user's pauses: then the whole history.
  const UserSplit whole = split_user(data_.data, data_.data.user_rows(user), train_rule_);
  // A user in one sitting (trained with --one_sitting count): the prefix's 90/10 cut.
  return whole.trainable() ? whole : split_user(rows);
}

Trainer::Prepared Trainer::prepare(const std::vector<size_t>& users, size_t begin, size_t end,
                                   int64_t epoch) const {
  std::vector<UserSplit> splits;
  std::vector<size_t> lengths;
  for (size_t i = begin; i < end; ++i) {
    splits.push_back(training_split(users[i], epoch));
    lengths.push_back(splits.back().long_part.size());
  }
  const auto& c = options_.model;
  Prepared p;
  const bool move_short = options_.train.short_time == "moved";
  for (const std::vector<size_t>& chunk : chunks_by_length(lengths, kUsersPerChunk)) {
    std::vector<RowRange> long_parts, short_parts;
    std::vector<int64_t> short_shift;
    for (const size_t i : chunk) {
      long_parts.push_back(splits[i].long_part);
      short_parts.push_back(splits[i].short_part);
      if (move_short)
        short_shift.push_back(moved_short_hours(
            options_.train.seed,
            (static_cast<uint64_t>(epoch) << 32) ^ static_cast<uint64_t>(users[begin + i])));
    }
    p.long_chunks.push_back(
        make_batch(data_.data, long_parts, static_cast<size_t>(c.n_max), kBatchLongest));
    p.short_chunks.push_back(make_batch(data_.data, short_parts, static_cast<size_t>(c.k_max),
                                        kBatchLongest, short_shift));
    p.positions += p.long_chunks.back().batch * p.long_chunks.back().length +
                   p.short_chunks.back().batch * p.short_chunks.back().length;
  }
  return p;
}

EpochBatches Trainer::global_batches(int64_t epoch) const {
  const size_t ranks = group_ ? static_cast<size_t>(group_->size()) : 1;
  BatchPlan plan;
  plan.batch_size = static_cast<size_t>(options_.train.batch_size);
  plan.window_batches = static_cast<size_t>(options_.train.sort_window);
  plan.min_last_batch = 2 * ranks;  // every rank needs two users: a negative is another user
  plan.seed = options_.train.seed;
  // A user's padded length is that of its long part, which dominates the step's cost (only
  // sorting windows read it).
  std::vector<size_t> cost;
  if (plan.window_batches > 0) {
    cost.reserve(train_users_.size());
    for (const size_t u : train_users_)
      cost.push_back(std::min<size_t>(training_split(u, epoch).long_part.size(),
                                      static_cast<size_t>(options_.model.n_max)));
  }
  EpochBatches e = plan_epoch(train_users_, cost, plan, static_cast<uint64_t>(epoch));
  if (options_.train.max_steps_per_epoch > 0 &&
      static_cast<int64_t>(e.batches.size()) > options_.train.max_steps_per_epoch)
    e.batches.resize(static_cast<size_t>(options_.train.max_steps_per_epoch));
  return e;
}

int64_t Trainer::steps_per_epoch() const {
  return static_cast<int64_t>(global_batches(1).batches.size());
}

EarlyStop Trainer::early_stop() const {
  const int64_t steps = steps_per_epoch();
  const int64_t patience = options_.train.patience_epochs(steps);
  const bool trend = scored_validation_users() >=
                     static_cast<size_t>(std::max<int64_t>(options_.train.patience_trend_users, 0));
  return {patience, trend ? patience * std::max<int64_t>(options_.train.patience_trend, 0) : 0,
          options_.train.best_window_epochs(steps)};
}

Trainer::GatheredShorts Trainer::gather_short_vectors(const torch::Tensor& short_vec) {
  auto sizes = torch::zeros({group_->size()}, torch::kInt64);
  sizes[group_->rank()] = short_vec.size(0);
  group_->sum_in_place(sizes);
  const auto size = sizes.to(torch::kCPU);
  GatheredShorts g;
  g.offset = size.narrow(0, 0, group_->rank()).sum().item<int64_t>();
  auto all = torch::zeros({size.sum().item<int64_t>(), short_vec.size(1)}, short_vec.options());
  all.narrow(0, g.offset, short_vec.size(0)).copy_(short_vec.detach());
  group_->sum_in_place(all);
  g.all = all.requires_grad_(true);
  return g;
}

torch::Tensor Trainer::batch_loss(const torch::Tensor& long_vec, const torch::Tensor& short_vec,
                                  Rng& rng) const {
  if (options_.train.loss == "softmax")
    return softmax_loss(long_vec, short_vec, options_.train.temperature);
  const auto negative = random_derangement(long_vec.size(0), rng);
  return bpr_loss(long_vec, short_vec, torch::tensor(negative, torch::kInt64).to(long_vec.device()),
                  options_.train.bpr_scale);
}

double Trainer::train_step(const Prepared& batch, Rng& rng, int64_t& tokens) {
  // Gradients are dropped rather than zeroed (PyTorch 2's set_to_none): an expert no token
  // chose this step gets no stale-momentum update, and a resumed run, which starts without
  // gradients, repeats an uninterrupted one exactly.
  const auto parameters = model_->parameters();
  for (auto& p : parameters) p.mutable_grad() = torch::Tensor();
  // The step's chunks in one call (one MoE pass), then one loss over the step: user i's long
  // and short vectors are in the same row, which is all the losses need.
  std::vector<BatchTensors> long_in, short_in;
  for (size_t c = 0; c < batch.long_chunks.size(); ++c) {
    long_in.push_back(BatchTensors::from(batch.long_chunks[c], device_));
    short_in.push_back(BatchTensors::from(batch.short_chunks[c], device_));
  }
  const auto [long_vec, short_vec] = model_->encode_batches(long_in, short_in);
  torch::Tensor step_loss;
  GatheredShorts gathered;
  if (options_.train.loss == "softmax" && group_) {
    // Every rank's short vectors are the candidates: the loss is taken against a gathered copy,
    // and after backward each rank passes its own short vectors the gradient that every rank's
    // queries sent them (summed over the ranks), so the step is the one a single process would
    // take on the global batch.
    gathered = gather_short_vectors(short_vec);
    step_loss = softmax_loss(long_vec, gathered.all, options_.train.temperature, gathered.offset);
  } else {
    step_loss = batch_loss(long_vec, short_vec, rng);
  }
  if (group_) {
    // Each rank's loss is the mean over its own slice, and the ranks' gradients are averaged:
    // weighted by slice / (global batch / ranks), that average is the global batch's mean even
    // when the slices differ in size (a last batch of 5 users on 2 ranks).
    const auto local = static_cast<double>(long_vec.size(0));
    const double global =
        gathered.all.defined() ? static_cast<double>(gathered.all.size(0)) : group_->sum(local);
    step_loss = step_loss * (local * group_->size() / global);
  }
  double value = step_loss.item<double>();
  // Every rank takes the same decision on the mean loss of the global batch.
  if (group_) value = group_->sum(value) / group_->size();
  if (!std::isfinite(value)) return value;
  if (gathered.all.defined()) {
    // The gradient that every rank's queries send this rank's short vectors (summed over the
    // ranks), then one backward pass for the loss and those short vectors together: the long
    // and short vectors share one MoE pass, so their graph can only be walked once.
    auto from_all_queries =
        torch::autograd::grad({step_loss}, {gathered.all}, {}, /*retain_graph=*/true)[0];
    group_->sum_in_place(from_all_queries);
    torch::autograd::backward({step_loss, short_vec},
                              {torch::ones_like(step_loss),
                               from_all_queries.narrow(0, gathered.offset, short_vec.size(0))});
  } else {
    step_loss.backward();
  }
  if (group_) group_->average_gradients(parameters);
  optimizer_->step();
  if (average_) average_->update();
  if (group_)
    model_->moe_layer->update_bias([this](torch::Tensor& c) { group_->sum_in_place(c); });
  else
    model_->moe_layer->update_bias();
  for (size_t c = 0; c < batch.long_chunks.size(); ++c)
    tokens += valid_tokens(batch.long_chunks[c]) + valid_tokens(batch.short_chunks[c]);
  return value;
}

void Trainer::calibrate_balance() {
  if (options_.model.moe_balance != "bias" || train_users_.empty()) return;
  // The first batch_size training users, in data order: the same on every rank, so that every
  // rank sets the same bias.
  const size_t n = std::min(train_users_.size(), static_cast<size_t>(options_.train.batch_size));
  const Prepared batch = prepare(train_users_, 0, n, 1);
  std::vector<BatchTensors> tensors;
  for (const auto* chunks : {&batch.long_chunks, &batch.short_chunks})
    for (const SequenceBatch& chunk : *chunks)
      tensors.push_back(BatchTensors::from(chunk, device_));
  const auto usage = model_->calibrate_balance(tensors);
  if (usage)
    spdlog::info(
        "expert balance: bias set on the tokens of {} training users before the first "
        "step: {}",
        n, usage->summary());
}

Trainer::Validation Trainer::validate() {
  Validation v;
  if (scored_validation_users() < 2) return v;
  // The same vectors `lti eval` computes; the loss and separation are taken per training-sized
  // batch, as training sees them, with the same negatives every epoch.
  const int64_t bs = options_.train.batch_size;
  PairVectors pairs =
      encode_pairs(*model_, data_.data, val_users_, /*batch_size=*/0, device_, false, eval_rule_);
  if (!val_moved_users_.empty()) {
    // Users in one sitting (--val_one_sitting moved): the 90/10 cut, the short part moved in
    // time as lti eval's moved row moves it, so that their pairs hold no clock either.
    const PairVectors moved = encode_pairs(*model_, data_.data, val_moved_users_, 0, device_, false,
                                           SplitRule::count(), PairParts::kBothShortMoved);
    pairs.long_vec = torch::cat({pairs.long_vec, moved.long_vec});
    pairs.short_vec = torch::cat({pairs.short_vec, moved.short_vec});
  }
  model_->train(true);
  Rng rng(options_.train.seed, 0xFA11);
  int64_t weight = 0;
  for (int64_t begin = 0; begin + 1 < pairs.long_vec.size(0); begin += bs) {
    const int64_t n = std::min(bs, pairs.long_vec.size(0) - begin);
    if (n < 2) continue;
    const auto l = pairs.long_vec.narrow(0, begin, n), s = pairs.short_vec.narrow(0, begin, n);
    v.loss += batch_loss(l, s, rng).item<double>() * n;
    v.separation += separation(l, s) * n;
    weight += n;
  }
  v.loss /= weight;
  v.separation /= weight;
  const RetrievalMetrics m = retrieval_metrics(pairs.long_vec, pairs.short_vec);
  v.recall_at_10 = m.recall_at_10;
  v.mrr = m.mrr;
  return v;
}

Trainer::Validation Trainer::validate_average() {
  if (!average_) return validate();
  const WeightAverage::Applied averaged = average_->apply();
  return validate();
}

void Trainer::trace_test_users(EpochStats& stats) {
  if (traced_test_users_.size() < 2) return;
  std::optional<WeightAverage::Applied> averaged;
  if (average_) averaged.emplace(*average_);
  // lti eval's model and mean-pooling rows (evaluate()), without its other rows.
  const PairVectors towers =
      encode_pairs(*model_, data_.data, traced_test_users_, 0, device_, false, eval_rule_);
  const RetrievalMetrics model = retrieval_metrics(towers.long_vec, towers.short_vec);
  const PairVectors pooled =
      encode_pairs(*model_, data_.data, traced_test_users_, 0, device_, true, eval_rule_);
  const RetrievalMetrics pooling = retrieval_metrics(pooled.long_vec, pooled.short_vec);
  model_->train(true);
  stats.test_recall_at_10 = model.recall_at_10;
  stats.test_mrr = model.mrr;
  stats.test_pooling_recall_at_10 = pooling.recall_at_10;
  stats.test_pooling_mrr = pooling.mrr;
}

std::vector<double> Trainer::first_step_losses(int64_t steps) {
  std::vector<double> losses;
  model_->train(true);
  model_->moe_layer->begin_epoch();
  torch::manual_seed(options_.train.seed + 1);
  Rng rng(options_.train.seed, 1000000 + 1);
  int64_t tokens = 0;
  const size_t bs = static_cast<size_t>(options_.train.batch_size);
  for (int64_t s = 0; s < steps; ++s) {
    const size_t begin = (s * bs) % train_users_.size();
    const size_t end = std::min(train_users_.size(), begin + bs);
    if (end - begin < 2) break;
    losses.push_back(train_step(prepare(train_users_, begin, end, 1), rng, tokens));
  }
  return losses;
}

bool Trainer::stop_requested() {
  const bool here = stop_signal() != 0;
  return group_ ? group_->sum(here ? 1.0 : 0.0) > 0 : here;  // the ranks stop at the same step
}

std::vector<EpochStats> Trainer::run() {
  if (leader()) create_folders(options_.save_dir);
  std::vector<EpochStats> history = options_.resume ? restore() : std::vector<EpochStats>{};
  // A fresh run writes the encoders with its first epoch, in the same set of files.
  encoders_saved_ = options_.resume;
  const int64_t rank = group_ ? group_->rank() : 0, ranks = group_ ? group_->size() : 1;
  spdlog::info(
      "training on {} in {}{}: {} train users, {} validation users ({}), {} test users "
      "held out for lti eval, {} parameters",
      device_.str(), precision_name(precision_),
      ranks > 1 ? fmt::format(" as rank {} of {}", rank, ranks) : std::string(),
      train_users_.size(), scored_validation_users(),
      val_moved_users_.empty()
          ? eval_rule_.name() + " split"
          : fmt::format("{} on the {} split, {} in one sitting on a moved 90/10 cut",
                        val_users_.size(), eval_rule_.name(), val_moved_users_.size()),
      test_users_, model_->parameter_count());
  // Below kFewScoredUsers one user moves the validation MRR by a hundredth or more, so which
  // epoch is kept is partly chance (docs/quality.md, "How sure the figures are"). Rank 0 alone
  // validates.
  if (leader() && scored_validation_users() >= 2 && scored_validation_users() < kFewScoredUsers)
    spdlog::warn(
        "validation: only {} validation users pick the best epoch and stop training early: "
        "one user moves their MRR by up to {:.3f}, so the epoch kept is partly chance (a "
        "larger --val_fraction steadies it)",
        scored_validation_users(), 1.0 / static_cast<double>(scored_validation_users()));
  const int64_t epochs = planned_epochs();
  const EarlyStop early_stop = this->early_stop();
  if (leader() && early_stop.patience > 0 && early_stop.trend_window == 0 &&
      options_.train.patience_trend > 0)
    spdlog::info(
        "early stop on patience alone: {} validation users are fewer than the {} the trend "
        "rule needs (--patience_trend_users)",
        scored_validation_users(), options_.train.patience_trend_users);
  spdlog::info("{} epoch(s) of {} step(s){}, {} loss, batch {}, lr {}, balance {}; {}", epochs,
               steps_per_epoch(),
               options_.train.epochs == 0
                   ? fmt::format(" (automatic: at least {} steps)", options_.train.min_steps)
                   : std::string(),
               options_.train.loss, options_.train.batch_size, options_.train.lr,
               options_.model.moe_balance, early_stop.describe());
  const int64_t done = static_cast<int64_t>(history.size());
  std::vector<double> val_mrr;  // of every epoch so far, for the early-stop rule
  for (const EpochStats& e : history) val_mrr.push_back(e.val_mrr);
  if (options_.resume && (done >= epochs || early_stop.should_stop(val_mrr, best_epoch_))) {
    nothing_to_do_ = true;  // and nothing is written
    return history;
  }
  if (history.empty()) calibrate_balance();
  int64_t replica_checks = 0;
  for (int64_t epoch = done + 1; epoch <= epochs; ++epoch) {
    if (stop_requested()) {
      interrupted_ = {stop_signal(), epoch, 0};
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    model_->train(true);
    model_->moe_layer->begin_epoch();
    // Dropout, shuffling and negatives are seeded per epoch, so a resumed run repeats exactly
    // what an uninterrupted one does.
    // (Each rank draws its own dropout masks and negatives.)
    torch::manual_seed(options_.train.seed + static_cast<uint64_t>(epoch) +
                       static_cast<uint64_t>(rank) * 7919);
    // Users shuffled each epoch, deterministically for the seed, and bucketed by length.
    EpochBatches epoch_batches = global_batches(epoch);
    const std::vector<size_t>& order = epoch_batches.order;
    Rng negatives(options_.train.seed,
                  1000000 + static_cast<uint64_t>(epoch) + (static_cast<uint64_t>(rank) << 32));

    std::vector<std::pair<size_t, size_t>>& batches = epoch_batches.batches;
    // Distributed: each rank trains on its contiguous slice of every global batch.
    for (auto& [begin, end] : batches) {
      const size_t n = end - begin;
      end = begin + n * static_cast<size_t>(rank + 1) / static_cast<size_t>(ranks);
      begin = begin + n * static_cast<size_t>(rank) / static_cast<size_t>(ranks);
    }

    Progress progress(options_.progress, epoch, static_cast<int64_t>(batches.size()));
    double loss_sum = 0;
    int64_t tokens = 0, positions = 0;  // real tokens; all padded positions
    // The next batch's features are built on another thread while this one trains.
    auto next = std::async(std::launch::async, [&, b = batches[0]] {
      return prepare(order, b.first, b.second, epoch);
    });
    for (size_t step = 0; step < batches.size(); ++step) {
      const Prepared batch = next.get();
      if (step + 1 < batches.size())
        next = std::async(std::launch::async, [&, b = batches[step + 1]] {
          return prepare(order, b.first, b.second, epoch);
        });
      const double loss = train_step(batch, negatives, tokens);
      positions += batch.positions;
      if (!std::isfinite(loss)) {
        if (next.valid()) next.wait();
        throw Error(
            kExitDiverged,
            fmt::format("epoch {} step {}: the loss is {}; training stopped. The model of the "
                        "last completed epoch ({}) in '{}' is intact; try a lower --lr",
                        epoch, step + 1, loss, history.size(), options_.save_dir));
      }
      loss_sum += loss;
      progress.update(static_cast<int64_t>(step + 1), loss_sum / (step + 1));
      if (stop_requested()) {  // SIGINT/SIGTERM: this step is done; the partial epoch is dropped
        if (next.valid()) next.wait();
        interrupted_ = {stop_signal(), epoch, static_cast<int64_t>(step + 1)};
        break;
      }
      if (group_ && options_.check_replicas) {
        // Every parameter and buffer (the MoE's bias and load route the next step), by sum
        // and by sum of squares with a weight per tensor, so that a swap does not cancel out.
        double checksum = 0, weight = 1;
        auto add = [&](const torch::Tensor& t) {
          const torch::Tensor d = t.detach().to(torch::kFloat64);
          checksum += weight * (d.sum().item<double>() + d.square().sum().item<double>());
          weight += 1;
        };
        for (const auto& p : model_->parameters()) add(p);
        for (const auto& b : model_->buffers()) add(b);
        if (!group_->same_on_all_ranks(checksum))
          throw Error(kExitFailure,
                      fmt::format("epoch {} step {}: the ranks' parameters or buffers differ",
                                  epoch, step + 1));
        ++replica_checks;
      }
    }
    if (interrupted_.signal != 0) break;
    EpochStats stats;
    stats.epoch = epoch;
    stats.steps = static_cast<int64_t>(batches.size());
    stats.loss = loss_sum / batches.size();  // already the mean over ranks, step by step
    stats.usage = group_ ? model_->moe_layer->end_epoch(
                               [this](torch::Tensor& counts) { group_->sum_in_place(counts); })
                         : model_->moe_layer->end_epoch();
    const double train_seconds = seconds_since(start);
    const double all_tokens = group_ ? group_->sum(static_cast<double>(tokens)) : tokens;
    const double all_positions =
        group_ ? group_->sum(static_cast<double>(positions)) : static_cast<double>(positions);
    stats.tokens_per_s = all_tokens / train_seconds;
    stats.real_tokens = static_cast<int64_t>(all_tokens);
    stats.padding_tokens = static_cast<int64_t>(all_positions - all_tokens);
    if (replica_checks > 0)
      spdlog::info("rank {}: parameters identical on all {} ranks after each of {} steps", rank,
                   ranks, replica_checks);
    bool stop = false;
    if (leader()) {  // rank 0 validates and saves; the others wait for its stop decision
      const Validation v = validate_average();
      stats.val_loss = v.loss;
      stats.val_separation = v.separation;
      stats.val_recall_at_10 = v.recall_at_10;
      stats.val_mrr = v.mrr;
      stats.seconds = seconds_since(start);  // without the trace below, as without the option
      if (options_.trace_test_users) trace_test_users(stats);
      val_mrr.push_back(stats.val_mrr);
      // Without validation users every epoch counts as the best: the last one is kept.
      const double score = early_stop.score(val_mrr);
      const bool best = scored_validation_users() < 2 || score > best_score_;
      if (best) {
        best_epoch_ = epoch;
        best_score_ = score;
      }
      history.push_back(stats);
      const size_t averaged = std::min(
          val_mrr.size(), static_cast<size_t>(std::max<int64_t>(early_stop.best_window, 1)));
      spdlog::info("{}{}", stats.summary_line(),
                   !best ? std::string()
                   : averaged > 1
                       ? fmt::format(" (best so far: {:.4f} over {} epochs)", score, averaged)
                       : std::string(" (best so far)"));
      save(history, best);
      stop = early_stop.should_stop(val_mrr, best_epoch_) && epoch < epochs;
      if (stop)
        spdlog::info("early stop: {} epoch(s) without a better {} than epoch {} ({:.4f}){}",
                     epoch - best_epoch_, early_stop.score_name(), best_epoch_, best_score_,
                     early_stop.trend_window > 0 ? ", and " + early_stop.trend(val_mrr) : "");
      else if (early_stop.patience > 0 && epoch - best_epoch_ == early_stop.patience &&
               epoch < epochs)
        spdlog::info("{} epoch(s) without a better {}, but {}: training goes on",
                     early_stop.patience, early_stop.score_name(), early_stop.trend(val_mrr));
    } else {
      history.push_back(stats);
    }
    if (group_) stop = group_->sum(stop ? 1.0 : 0.0) > 0;
    if (stop) break;
  }
  return history;
}

}  // namespace lti
