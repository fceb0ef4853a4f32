#include "lti/train/evaluation.h"

#include <fmt/format.h>

#include <algorithm>

#include "lti/data/batch.h"
#include "lti/data/batch_sampler.h"
#include "lti/data/clock_baseline.h"
#include "lti/data/sequences.h"
#include "lti/model/tensor_batch.h"
#include "lti/model/user_vectors.h"

namespace lti {

std::vector<size_t> retrieval_ranks(const torch::Tensor& queries, const torch::Tensor& targets,
                                    int64_t chunk) {
  namespace F = torch::nn::functional;
  const int64_t n = queries.size(0);
  std::vector<size_t> ranks;
  ranks.reserve(static_cast<size_t>(n));
  if (n == 0) return ranks;
  const auto q = F::normalize(queries.to(torch::kFloat32), F::NormalizeFuncOptions().dim(1));
  const auto t = F::normalize(targets.to(torch::kFloat32), F::NormalizeFuncOptions().dim(1));
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t rows = std::min(chunk, n - begin);
    const auto sims = torch::matmul(q.narrow(0, begin, rows), t.t());  // [rows, n]
    const auto own = sims.gather(
        1, torch::arange(begin, begin + rows, sims.options().dtype(torch::kInt64)).unsqueeze(1));
    // rank = 1 + the other targets scoring at least as high (the own target is one of the
    // `>=`, which gives the 1): a tie counts against the user, so a degenerate vector (all
    // cosines equal) ranks last, never first. A NaN compares false with everything: set last.
    auto rank = (sims >= own).sum(1).to(torch::kInt64).contiguous();
    rank.masked_fill_(own.squeeze(1).isnan(), n);
    const auto* r = rank.data_ptr<int64_t>();
    for (int64_t i = 0; i < rows; ++i) ranks.push_back(static_cast<size_t>(r[i]));
  }
  return ranks;
}

RetrievalMetrics retrieval_metrics(const torch::Tensor& queries, const torch::Tensor& targets,
                                   int64_t chunk) {
  return metrics_from_ranks(retrieval_ranks(queries, targets, chunk));
}

PairVectors encode_pairs(UserInterestModel& model, const EncodedDataset& data,
                         const std::vector<size_t>& users, int64_t batch_size,
                         const torch::Device& device, bool mean_pooling, const SplitRule& split,
                         PairParts parts) {
  const bool move_short = parts != PairParts::kBoth;
  const bool encode_long = parts != PairParts::kMovedShortOnly;
  const auto& c = model.config();
  std::vector<torch::Tensor> longs, shorts;
  model.train(false);
  c10::InferenceMode inference;
  auto pooled = [&](const BatchTensors& b) {
    const auto mask = b.valid.unsqueeze(-1).to(torch::kFloat32);
    return (model.feature_embedding(b) * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  };
  // Longest first, so that users of similar length share a batch and its padded length;
  // `order` collects the positions in `users` batch by batch, to put the rows back at the end.
  std::vector<size_t> lengths;
  for (const size_t u : users) lengths.push_back(data.user_rows(u).size());
  std::vector<int64_t> order;
  for (const std::vector<size_t>& batch_users :
       chunks_by_length(lengths, static_cast<size_t>(inference_batch_size(batch_size, device)))) {
    std::vector<RowRange> long_parts, short_parts;
    std::vector<int64_t> short_shift;
    for (const size_t i : batch_users) {
      order.push_back(static_cast<int64_t>(i));
      const UserSplit s = split_user(data, data.user_rows(users[i]), split);
      long_parts.push_back(s.long_part);
      short_parts.push_back(s.short_part);
      // From the raw id, so that a user's offset does not depend on who else is scored.
      if (move_short) short_shift.push_back(moved_short_hours(0, data.user_raw_id[users[i]]));
    }
    if (encode_long) {
      const auto lb = BatchTensors::from(
          make_batch(data, long_parts, static_cast<size_t>(c.n_max), kBatchLongest), device);
      longs.push_back((mean_pooling ? pooled(lb) : model.encode_long(lb)).to(torch::kCPU));
    }
    const auto sb = BatchTensors::from(
        make_batch(data, short_parts, static_cast<size_t>(c.k_max), kBatchLongest, short_shift),
        device);
    shorts.push_back((mean_pooling ? pooled(sb) : model.encode_short(sb)).to(torch::kCPU));
  }
  // Row i of a concatenation is users[order[i]]: scatter back to the callers' order.
  const auto sorted_position = torch::tensor(order, torch::kInt64);
  const auto in_callers_order = [&](const std::vector<torch::Tensor>& vectors) {
    auto out = torch::empty({static_cast<int64_t>(users.size()), c.hidden_dim});
    if (!vectors.empty()) out.index_copy_(0, sorted_position, torch::cat(vectors));
    return out;
  };
  return {encode_long ? in_callers_order(longs) : torch::Tensor(), in_callers_order(shorts)};
}

bool EvalResult::clock_within_reach() const {
  const double clock_gain = clock.mrr - chance.mrr, model_gain = model.mrr - chance.mrr;
  return clock.users > 0 && clock.mrr > 1.5 * chance.mrr && clock_gain >= 0.5 * model_gain;
}

double EvalResult::clock_share_of_model() const {
  const double model_gain = model.mrr - chance.mrr;
  if (model_moved.users == 0 || model_gain <= 0) return 0;
  return std::clamp((model.mrr - model_moved.mrr) / model_gain, 0.0, 1.0);
}

std::string EvalResult::table() const {
  std::string out = fmt::format("{:<14} {:>9} {:>10} {:>10} {:>8}\n", "method", "Recall@1",
                                "Recall@10", "Recall@50", "MRR");
  auto row = [&](const char* name, const RetrievalMetrics& m) {
    out += fmt::format("{:<14} {:>9.4f} {:>10.4f} {:>10.4f} {:>8.4f}\n", name, m.recall_at_1,
                       m.recall_at_10, m.recall_at_50, m.mrr);
  };
  row("model", model);
  row("model (moved)", model_moved);
  row("mean pooling", mean_pooling);
  row("clock", clock);
  row("chance", chance);
  out += fmt::format(
      "({} {}; each long vector ranks all their short vectors by cosine; clock: the hour of "
      "week of the short part's first interaction against the long part's last, no vector; "
      "model (moved): each short part moved in time by its own random 1-167 h, so that the "
      "boundary says nothing)\n",
      model.users, who);
  if (split.kind == SplitRule::Kind::kGap)
    out += fmt::format(
        "(split: the short part starts after a pause of {} h or more near the 90% "
        "point; {} user(s) in one sitting not scored)\n",
        split.min_gap_hours, not_scored);
  else
    out += "(split: by count, 90/10)\n";
  if (model_over_pooling.resamples > 0) {
    const auto& m = model_over_pooling;
    out += fmt::format(
        "model / mean pooling: Recall@10 {:.2f}x (95% interval {:.2f}-{:.2f}), MRR {:.2f}x "
        "({:.2f}-{:.2f}); model Recall@10 {:.4f} +- {:.4f}, MRR {:.4f} +- {:.4f} (95%, the {} "
        "users resampled {} times)\n",
        m.recall_at_10.ratio, m.recall_at_10.low, m.recall_at_10.high, m.mrr.ratio, m.mrr.low,
        m.mrr.high, model.recall_at_10, 1.96 * model.recall_at_10_se, model.mrr,
        1.96 * model.mrr_se, m.users, m.resamples);
  }
  // Under 100 users Recall@10's chance is above 0.1 and one user is a hundredth or more of
  // every figure: a difference between two runs may be who happened to be scored.
  if (model.users > 0 && model.users < kFewScoredUsers)
    out += fmt::format(
        "note: only {} users scored (chance Recall@10 {:.3f}; one user moves a figure by "
        "{:.3f}): compare runs by the intervals above, or train with a larger --test_fraction\n",
        model.users, chance.recall_at_10, 1.0 / static_cast<double>(model.users));
  if (clock_within_reach())
    out += fmt::format(
        "note: the clock alone gains {:.0f}% of the model's MRR over chance: much of the "
        "model's margin may be when users were last active, not what they like ({})\n",
        model.mrr > chance.mrr ? 100 * (clock.mrr - chance.mrr) / (model.mrr - chance.mrr) : 100.0,
        split.kind == SplitRule::Kind::kGap ? "try a larger --min_gap_hours" : "try --split gap");
  // Below 10% the difference is within what one draw of the offsets moves the figures; a model
  // within 1.5x chance has no margin to explain.
  if (model.mrr > 1.5 * chance.mrr && clock_share_of_model() >= 0.1)
    out += fmt::format(
        "note: moving the short parts in time takes {:.0f}% of the model's MRR gain over "
        "chance: that much of its margin is when the short part starts, not what it holds "
        "(train with --short_time moved)\n",
        100 * clock_share_of_model());
  return out;
}

nlohmann::json EvalResult::to_json() const {
  return {{"model", model.to_json()},
          {"mean_pooling", mean_pooling.to_json()},
          {"clock", clock.to_json()},
          {"chance", chance.to_json()},
          {"model_moved", model_moved.to_json()},
          {"model_over_mean_pooling", model_over_pooling.to_json()},
          {"clock_within_reach", clock_within_reach()},
          {"clock_share_of_model", clock_share_of_model()},
          {"split", {{"rule", split.name()}, {"min_gap_hours", split.min_gap_hours}}},
          {"users", who_role},
          {"users_described", who},
          {"not_scored", not_scored}};
}

EvalResult evaluate(UserInterestModel& model, const EncodedDataset& data,
                    const std::vector<size_t>& users, int64_t batch_size,
                    const torch::Device& device, const SplitRule& split) {
  std::vector<size_t> scored;
  std::vector<int> long_last, short_first;
  EvalResult r;
  r.split = split;
  for (size_t u : users) {
    const UserSplit s = split_user(data, data.user_rows(u), split);
    if (!s.trainable()) {
      r.not_scored += split.kind == SplitRule::Kind::kGap;
      continue;
    }
    scored.push_back(u);
    long_last.push_back(hour_of_week(data.time[s.long_part.end - 1]));
    short_first.push_back(hour_of_week(data.time[s.short_part.begin]));
  }
  const PairVectors towers = encode_pairs(model, data, scored, batch_size, device, false, split);
  const std::vector<size_t> model_ranks = retrieval_ranks(towers.long_vec, towers.short_vec);
  r.model = metrics_from_ranks(model_ranks);
  const PairVectors moved = encode_pairs(model, data, scored, batch_size, device, false, split,
                                         PairParts::kMovedShortOnly);
  r.model_moved = retrieval_metrics(towers.long_vec, moved.short_vec);
  const PairVectors pooled = encode_pairs(model, data, scored, batch_size, device, true, split);
  const std::vector<size_t> pooling_ranks = retrieval_ranks(pooled.long_vec, pooled.short_vec);
  r.mean_pooling = metrics_from_ranks(pooling_ranks);
  r.model_over_pooling = paired_ratios(model_ranks, pooling_ranks);
  r.clock = metrics_from_ranks(clock_ranks(long_last, short_first));
  r.chance = chance_metrics(scored.size());
  return r;
}

}  // namespace lti
