#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lti/data/sequences.h"
#include "lti/train/evaluation.h"
#include "lti/train/objective.h"
#include "lti/train/trainer.h"
#include "lti/util/errors.h"
#include "model_fixtures.h"

using namespace lti;

namespace {

double softplus(double x) { return std::log1p(std::exp(x)); }

}  // namespace

TEST(Objective, BprLossEqualsAHandComputedValue) {
  const auto l = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const auto s = torch::tensor({{2.0f, 0.0f}, {1.0f, 1.0f}});
  const auto negative = torch::tensor({1, 0}, torch::kInt64);
  // cos(L0,S0) = 1, cos(L0,S1) = 1/sqrt2; cos(L1,S1) = 1/sqrt2, cos(L1,S0) = 0.
  const double r = 1.0 / std::sqrt(2.0);
  const double expected = (softplus(-(1.0 - r)) + softplus(-(r - 0.0))) / 2;
  EXPECT_NEAR(bpr_loss(l, s, negative).item<double>(), expected, 1e-6);
  EXPECT_NEAR(separation(l, s), (1.0 + r) / 2 - (r + 0.0) / 2, 1e-6);
}

TEST(Objective, SoftmaxLossEqualsAHandComputedValue) {
  const auto l = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const auto s = torch::tensor({{2.0f, 0.0f}, {1.0f, 1.0f}});
  const double r = 1.0 / std::sqrt(2.0), t = 0.5;
  // Row 0: cosines (1, r), target 0; row 1: cosines (0, r), target 1.
  const double row0 = -std::log(std::exp(1 / t) / (std::exp(1 / t) + std::exp(r / t)));
  const double row1 = -std::log(std::exp(r / t) / (std::exp(0 / t) + std::exp(r / t)));
  EXPECT_NEAR(softmax_loss(l, s, t).item<double>(), (row0 + row1) / 2, 1e-6);
  // With other candidates before this batch's (another rank's), the targets move by the offset.
  const auto with_other = torch::cat({torch::tensor({{-1.0f, 1.0f}}), s});
  const double c = -r;  // cos((1,0), (-1,1)); cos((0,1), (-1,1)) = r
  const double other0 =
      -std::log(std::exp(1 / t) / (std::exp(c / t) + std::exp(1 / t) + std::exp(r / t)));
  const double other1 =
      -std::log(std::exp(r / t) / (std::exp(r / t) + std::exp(0 / t) + std::exp(r / t)));
  EXPECT_NEAR(softmax_loss(l, with_other, t, 1).item<double>(), (other0 + other1) / 2, 1e-6);
}

TEST(Objective, DerangementsHaveNoFixedPoints) {
  Rng rng(1);
  for (int64_t n : {2, 3, 10, 256}) {
    for (int rep = 0; rep < 20; ++rep) {
      const auto p = random_derangement(n, rng);
      std::vector<int64_t> sorted = p;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_NE(p[i], i);
        EXPECT_EQ(sorted[i], i);
      }
    }
  }
}

TEST(Trainer, LearnsPlantedInterests) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir);
  TrainOptions options = test::tiny_train_options(dir.file("model"), 4);
  options.train.min_prefix = 1.0;  // whole histories: the real-token count below is exact
  Trainer trainer(data, options);
  ASSERT_GE(trainer.validation_users(), 20u);
  const auto before = trainer.validate();
  const double loss_before = before.loss, sep_before = before.separation;
  const auto history = trainer.run();
  ASSERT_EQ(history.size(), 4u);
  EXPECT_LT(history.back().loss, history.front().loss);
  EXPECT_LT(history.back().val_loss, loss_before);
  EXPECT_GT(history.back().val_separation, sep_before + 0.1)
      << "separation before " << sep_before << " after " << history.back().val_separation;
  EXPECT_GT(history.back().val_recall_at_10, before.recall_at_10);

  // Every epoch sees each training user's kept interactions once: the real tokens are their sum.
  const TrainOptions& o = options;
  int64_t expected = 0;
  const SplitRule rule =
      SplitRule::named(o.train.split, static_cast<int>(o.train.min_gap_hours), "--split");
  for (size_t u = 0; u < data.data.num_users(); ++u) {
    const UserSplit split = split_user(data.data, data.data.user_rows(u), rule);
    if (!split.trainable() || user_role(data.data.user_raw_id[u], o.train.val_fraction,
                                        o.train.test_fraction) != UserRole::kTrain)
      continue;
    expected += static_cast<int64_t>(std::min<uint64_t>(split.long_part.size(), o.model.n_max) +
                                     std::min<uint64_t>(split.short_part.size(), o.model.k_max));
  }
  for (const EpochStats& e : history) {
    EXPECT_EQ(e.real_tokens, expected);
    EXPECT_GE(e.padding_tokens, 0);
  }
}

TEST(Trainer, PrefixAugmentationGivesNewPairsEachEpochReproducibly) {
  test::TempDir dir;
  // About 20 rows a user: under tiny_config's caps (32 long, 8 short), so a cut shows in the
  // real-token count.
  const Ingested data = test::planted_data(dir, 120, 2400);
  torch::set_num_threads(1);
  for (const char* split : {"count", "gap"}) {
    SCOPED_TRACE(split);
    TrainOptions whole = test::tiny_train_options(dir.file(std::string("whole-") + split), 1);
    whole.train.min_prefix = 1.0;
    whole.train.split = split;
    const int64_t all_tokens = Trainer(data, whole).run().front().real_tokens;

    std::vector<std::vector<EpochStats>> runs;
    for (const char* name : {"a", "b"}) {
      TrainOptions o = test::tiny_train_options(dir.file(name + std::string("-") + split), 3);
      o.train.min_prefix = 0.5;
      o.train.split = split;
      runs.push_back(Trainer(data, o).run());
    }
    ASSERT_EQ(runs[0].size(), 3u);
    for (size_t e = 0; e < 3; ++e) {
      // A prefix of 50-100% of each history: on average about 3/4 of the tokens (under the gap
      // rule the prefix is then cut at its pause nearest its 90% point).
      EXPECT_LT(runs[0][e].real_tokens, 0.9 * all_tokens) << "epoch " << e + 1;
      EXPECT_GT(runs[0][e].real_tokens, 0.55 * all_tokens) << "epoch " << e + 1;
      EXPECT_EQ(runs[0][e].real_tokens, runs[1][e].real_tokens);
      EXPECT_EQ(runs[0][e].loss, runs[1][e].loss) << "the same seed must give the same run";
    }
    EXPECT_NE(runs[0][0].real_tokens, runs[0][1].real_tokens) << "each epoch cuts anew";
  }
}

TEST(Trainer, SameSeedSameThreadsSameLosses) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  torch::set_num_threads(1);
  Trainer a(data, test::tiny_train_options(dir.file("a")));
  Trainer b(data, test::tiny_train_options(dir.file("b")));
  const auto la = a.first_step_losses(3), lb = b.first_step_losses(3);
  ASSERT_EQ(la.size(), 3u);
  EXPECT_EQ(la, lb);
  TrainOptions other = test::tiny_train_options(dir.file("c"));
  other.train.seed = 8;
  Trainer c(data, other);
  EXPECT_NE(c.first_step_losses(3), la);
}

TEST(Trainer, SavedModelLoadsBackToIdenticalVectorsAndSavesTheLoadOfTheLastEpoch) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 2);
  o.model.moe_balance = "divide";
  Trainer trainer(data, o);
  const auto history = trainer.run();

  Encoders encoders;
  auto loaded = load_trained_model(dir.file("model"), torch::kCPU, &encoders);
  EXPECT_EQ(encoders.item.known_raw_ids(), data.encoders.item.known_raw_ids());
  // resume/ holds the last epoch, the model in training; the save dir the best epoch.
  UserInterestModel last(loaded->config());
  last.load_weights(dir.file("model/resume"));
  last.train(false);
  std::vector<RowRange> users;
  for (size_t u = 0; u < 20; ++u) users.push_back(data.data.user_rows(u));
  const auto batch = BatchTensors::from(make_batch(data.data, users, 32, 100), torch::kCPU);
  torch::NoGradGuard no_grad;
  trainer.model().train(false);
  EXPECT_TRUE(torch::equal(trainer.model().encode_long(batch), last.encode_long(batch)));
  if (trainer.best_epoch() == 2) {
    EXPECT_TRUE(torch::equal(trainer.model().encode_long(batch), loaded->encode_long(batch)));
  }

  // "divide": the load saved with epoch 2 is the one that routed it, epoch 1's shares.
  const auto saved_load = last.moe_layer->load;
  const auto epoch1 = torch::tensor(history[0].usage.share, torch::kFloat64).to(torch::kFloat32);
  const auto epoch2 = torch::tensor(history[1].usage.share, torch::kFloat64).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(saved_load, epoch1));
  EXPECT_FALSE(torch::allclose(saved_load, epoch2));
  const auto json = read_model_json(dir.file("model"));
  EXPECT_EQ(json.at("epochs_completed"), 2);
  EXPECT_EQ(json.at("model").at("heads"), 2);
  EXPECT_EQ(json.at("model").at("dim_head"), 8);
}

TEST(Trainer, ResumeContinuesFromTheLastCompletedEpoch) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  auto divide_options = [&](const std::string& save_dir, int64_t epochs) {
    TrainOptions o = test::tiny_train_options(save_dir, epochs);
    o.model.moe_balance = "divide";
    return o;
  };
  {
    Trainer first(data, divide_options(dir.file("model"), 1));
    first.run();
  }
  const auto after_one = read_model_json(dir.file("model"));
  TrainOptions more = divide_options(dir.file("model"), 3);
  more.resume = true;
  Trainer resumed(data, more);
  const auto history = resumed.run();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].loss, after_one.at("epochs")[0].at("loss").get<double>());
  // Epochs are seeded by number and the optimiser state is restored: resuming repeats exactly
  // what one uninterrupted run does.
  Trainer straight(data, divide_options(dir.file("straight"), 3));
  const auto uninterrupted = straight.run();
  EXPECT_EQ(history[1].loss, uninterrupted[1].loss);
  EXPECT_NEAR(history[2].loss, uninterrupted[2].loss, 1e-6);
  const auto json = read_model_json(dir.file("model"));
  EXPECT_EQ(json.at("epochs_completed"), 3);
  // The first resumed epoch routed with the shares measured in epoch 1.
  // (resume/moe_layer.pth now holds epoch 3's load, i.e. epoch 2's shares.)
  UserInterestModel last(ModelConfig::from_json(json.at("model")));
  last.load_weights(dir.file("model/resume"));
  const auto epoch2 = torch::tensor(history[1].usage.share, torch::kFloat64).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(last.moe_layer->load, epoch2));

  // A resume with other model options is refused.
  TrainOptions changed = divide_options(dir.file("model"), 4);
  changed.resume = true;
  changed.model.depth = 3;
  Trainer mismatched(data, changed);
  EXPECT_THROW(mismatched.run(), ModelError);
}

TEST(Trainer, DivergenceStopsWithAClearErrorAndKeepsTheLastCheckpoint) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  {
    Trainer good(data, test::tiny_train_options(dir.file("model"), 1));
    good.run();
  }
  const std::string before = test::read_text(dir.file("model/long_term.pth"));
  TrainOptions bad = test::tiny_train_options(dir.file("model"), 3);
  bad.resume = true;
  bad.train.lr = 1e30;
  Trainer diverging(data, bad);
  try {
    diverging.run();
    FAIL() << "expected divergence";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitDiverged);
    EXPECT_NE(std::string(e.what()).find("is intact"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_model_json(dir.file("model")).at("epochs_completed"), 1);
  EXPECT_EQ(test::read_text(dir.file("model/long_term.pth")), before);
}

TEST(Trainer, LoadingAMismatchedModelIsAModelError) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  Trainer trainer(data, test::tiny_train_options(dir.file("model"), 1));
  trainer.run();
  // model.json from another configuration.
  auto json = read_model_json(dir.file("model"));
  json["model"]["hidden_dim"] = 32;
  test::write_text(dir.file("model/model.json"), json.dump());
  EXPECT_THROW(load_trained_model(dir.file("model"), torch::kCPU, nullptr), ModelError);
  test::write_text(dir.file("model/model.json"), "{\"format_");
  EXPECT_THROW(load_trained_model(dir.file("model"), torch::kCPU, nullptr), ModelError);
  EXPECT_THROW(load_trained_model(dir.file("nowhere"), torch::kCPU, nullptr), ModelError);
}

TEST(Trainer, TheBiasIsSavedAndRestoredByResume) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 2);
  Trainer first(data, o);
  first.run();
  const auto bias = first.model().moe_layer->bias.clone();
  EXPECT_GT(bias.abs().sum().item<double>(), 0.0) << "training steps move the bias";
  o.resume = true;
  Trainer resumed(data, o);  // nothing left to train: it only restores
  resumed.run();
  EXPECT_TRUE(torch::equal(resumed.model().moe_layer->bias, bias));
  // And a fresh trainer starts from zero, then sets the bias before its first step.
  o.resume = false;
  o.save_dir = dir.file("other");
  o.train.epochs = 1;
  o.train.max_steps_per_epoch = 1;
  Trainer fresh(data, o);
  EXPECT_TRUE(torch::equal(fresh.model().moe_layer->bias, torch::zeros_like(bias)));
  fresh.run();
  const auto after_one_step = fresh.model().moe_layer->bias;
  // One step moves each expert's bias by exactly the rate (before re-centring); a calibrated
  // bias has moved further.
  EXPECT_GT((after_one_step.max() - after_one_step.min()).item<double>(),
            2 * o.model.moe_bias_rate + 1e-6);
}

namespace {

// The validation MRR of the model in a save dir, scored again as training scored it.
double saved_model_validation_mrr(const std::string& save_dir, const Ingested& data,
                                  const Trainer& trainer, const TrainConfig& t) {
  auto kept = load_trained_model(save_dir, torch::kCPU, nullptr);
  const PairVectors pairs =
      encode_pairs(*kept, data.data, trainer.validation_user_indices(), 32, torch::kCPU, false,
                   SplitRule::named(t.eval_split, static_cast<int>(t.min_gap_hours), "test"));
  return retrieval_metrics(pairs.long_vec, pairs.short_vec).mrr;
}

}  // namespace

TEST(Trainer, KeepsTheBestEpochAndStopsAfterPatienceEpochsWithoutImprovement) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 240, 24000);
  {
    Trainer good(data, test::tiny_train_options(dir.file("model"), 2));
    good.run();
  }
  // Resumed with a learning rate that wrecks the model: the later epochs are worse.
  TrainOptions wrecking = test::tiny_train_options(dir.file("model"), 10);
  wrecking.resume = true;
  wrecking.train.lr = 0.5;
  // One epoch of patience, but patience_steps asks for two epochs' steps; each epoch scored by
  // its own MRR.
  wrecking.train.best_window_steps = 0;
  wrecking.train.patience = 1;
  wrecking.train.patience_steps = 2 * Trainer(data, wrecking).steps_per_epoch();
  Trainer trainer(data, wrecking);
  const auto history = trainer.run();
  ASSERT_EQ(history.size(), 4u) << "2 good epochs, then 2 without improvement";
  const int64_t best = trainer.best_epoch();
  ASSERT_GE(best, 1);
  ASSERT_LE(best, 2);
  for (const auto& e : history)
    EXPECT_LE(e.val_mrr, history[static_cast<size_t>(best - 1)].val_mrr) << "epoch " << e.epoch;
  EXPECT_LT(history.back().val_mrr, history[static_cast<size_t>(best - 1)].val_mrr);
  const auto json = read_model_json(dir.file("model"));
  EXPECT_EQ(json.at("best_epoch"), best);
  EXPECT_EQ(json.at("epochs_completed"), 4);
  ASSERT_EQ(json.at("epochs").size(), 4u);
  EXPECT_NEAR(json.at("epochs")[3].at("val_mrr").get<double>(), history[3].val_mrr, 1e-12);

  // The save dir's weights are the best epoch's: evaluated again, they score its MRR.
  EXPECT_NEAR(saved_model_validation_mrr(dir.file("model"), data, trainer, wrecking.train),
              history[static_cast<size_t>(best - 1)].val_mrr, 1e-6);
}

TEST(Trainer, KeepsTheEpochThatEndsTheBestWindowOfEpochs) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 240, 24000);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 4);
  o.train.patience = 0;
  o.train.lr = 2e-2;  // a curve that moves, so that the window and a single epoch disagree
  Trainer probe(data, o);
  o.train.best_window_steps = 3 * probe.steps_per_epoch();
  Trainer trainer(data, o);
  EXPECT_EQ(trainer.early_stop().best_window, 3);
  const auto history = trainer.run();
  ASSERT_EQ(history.size(), 4u);
  // The epoch kept is the first with the best mean MRR of the three epochs ending with it
  // (fewer at the start).
  int64_t expected = 0;
  double best = -1;
  for (size_t e = 1; e <= history.size(); ++e) {
    double sum = 0;
    const size_t first = e >= 3 ? e - 3 : 0;
    for (size_t i = first; i < e; ++i) sum += history[i].val_mrr;
    if (sum / static_cast<double>(e - first) > best) {
      best = sum / static_cast<double>(e - first);
      expected = static_cast<int64_t>(e);
    }
  }
  // This run's curve tells the two rules apart: its best single epoch is another one.
  int64_t best_alone = 1;
  for (size_t e = 1; e < history.size(); ++e)
    if (history[e].val_mrr > history[static_cast<size_t>(best_alone - 1)].val_mrr)
      best_alone = static_cast<int64_t>(e + 1);
  ASSERT_NE(best_alone, expected);
  EXPECT_EQ(trainer.best_epoch(), expected);
  EXPECT_EQ(read_model_json(dir.file("model")).at("best_epoch"), expected);
  // The save dir holds that epoch's weights: they score its own MRR again.
  EXPECT_NEAR(saved_model_validation_mrr(dir.file("model"), data, trainer, o.train),
              history[static_cast<size_t>(expected - 1)].val_mrr, 1e-6);
}

TEST(Trainer, TracedTestUsersScoreAsLtiEvalScoresThemAndChangeNothing) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 240, 24000);
  TrainOptions plain = test::tiny_train_options(dir.file("plain"), 3);
  plain.train.test_fraction = 0.2;
  TrainOptions traced = plain;
  traced.save_dir = dir.file("traced");
  traced.trace_test_users = true;
  const auto untraced_history = Trainer(data, plain).run();
  Trainer trainer(data, traced);
  const auto history = trainer.run();
  // Training, validation and the epoch kept are the same as without the trace.
  ASSERT_EQ(history.size(), untraced_history.size());
  for (size_t e = 0; e < history.size(); ++e) {
    EXPECT_EQ(history[e].loss, untraced_history[e].loss) << "epoch " << e + 1;
    EXPECT_EQ(history[e].val_mrr, untraced_history[e].val_mrr) << "epoch " << e + 1;
    EXPECT_LT(untraced_history[e].test_mrr, 0) << "not traced";
    EXPECT_GT(history[e].test_mrr, 0) << "epoch " << e + 1;
  }
  const auto json = read_model_json(dir.file("traced"));
  EXPECT_EQ(read_model_json(dir.file("plain")).at("best_epoch"), json.at("best_epoch"));
  EXPECT_FALSE(read_model_json(dir.file("plain")).at("epochs")[0].contains("test_mrr"));
  // The kept epoch's trace is what lti eval gives for the save dir's model on the test users.
  std::vector<size_t> test_users;
  for (size_t u = 0; u < data.data.num_users(); ++u)
    if (user_role(data.data.user_raw_id[u], plain.train.val_fraction, plain.train.test_fraction) ==
        UserRole::kTest)
      test_users.push_back(u);
  auto kept = load_trained_model(dir.file("traced"), torch::kCPU, nullptr);
  const EvalResult eval = evaluate(
      *kept, data.data, test_users, 0, torch::kCPU,
      SplitRule::named(plain.train.eval_split, static_cast<int>(plain.train.min_gap_hours), "t"));
  ASSERT_GE(eval.model.users, 10u);
  EXPECT_EQ(json.at("users").at("test_traced"), eval.model.users);
  const auto& epoch = json.at("epochs")[json.at("best_epoch").get<size_t>() - 1];
  EXPECT_NEAR(epoch.at("test_mrr").get<double>(), eval.model.mrr, 1e-6);
  EXPECT_NEAR(epoch.at("test_recall_at_10").get<double>(), eval.model.recall_at_10, 1e-6);
  EXPECT_NEAR(epoch.at("test_pooling_mrr").get<double>(), eval.mean_pooling.mrr, 1e-6);
  EXPECT_NEAR(epoch.at("test_pooling_recall_at_10").get<double>(), eval.mean_pooling.recall_at_10,
              1e-6);
}

TEST(Trainer, TheTrendRuleNeedsPatienceTrendUsersValidationUsers) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 240, 24000);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 2);
  o.train.patience = 5;
  o.train.patience_trend = 3;
  Trainer probe(data, o);
  const auto users = static_cast<int64_t>(probe.scored_validation_users());
  ASSERT_GE(users, 10);
  const int64_t patience = probe.early_stop().patience;
  // As many users as it needs: the trend window; one more than there are: patience alone.
  o.train.patience_trend_users = users;
  EXPECT_EQ(Trainer(data, o).early_stop().trend_window, 3 * patience);
  o.train.patience_trend_users = users + 1;
  EXPECT_EQ(Trainer(data, o).early_stop().trend_window, 0);
  EXPECT_EQ(Trainer(data, o).early_stop().patience, patience);
  o.train.patience_trend_users = 0;
  EXPECT_EQ(Trainer(data, o).early_stop().trend_window, 3 * patience);
}

TEST(Trainer, AutomaticEpochsGiveAtLeastMinStepsWithinBounds) {
  TrainConfig t;
  t.epochs = 0;
  t.min_steps = 600;
  t.max_auto_epochs = 100;
  EXPECT_EQ(t.resolved_epochs(7), 86);     // 1,000 users, batch 128
  EXPECT_EQ(t.resolved_epochs(600), 1);    // exactly enough in one
  EXPECT_EQ(t.resolved_epochs(78125), 1);  // 10 million users
  EXPECT_EQ(t.resolved_epochs(1), 100);    // capped
  t.epochs = 3;
  EXPECT_EQ(t.resolved_epochs(7), 3);  // an explicit --epochs wins
}

TEST(Trainer, PatienceCountsEpochsAndAtLeastPatienceSteps) {
  TrainConfig t;
  t.patience = 5;
  t.patience_steps = 50;
  EXPECT_EQ(t.patience_epochs(5), 10);   // a 1,000-user log: 5 steps an epoch
  EXPECT_EQ(t.patience_epochs(1), 50);   // a few hundred users: one step an epoch
  EXPECT_EQ(t.patience_epochs(7), 8);    // rounded up
  EXPECT_EQ(t.patience_epochs(600), 5);  // large logs: the epochs
  EXPECT_EQ(t.patience_epochs(0), 50);   // no steps counts as one
  t.patience_steps = 0;
  EXPECT_EQ(t.patience_epochs(1), 5);
  t.patience = 0;
  t.patience_steps = 50;
  EXPECT_EQ(t.patience_epochs(1), 0);  // 0 = never stop early, whatever the steps
}

TEST(Trainer, TheKeepWindowCoversBestWindowStepsOfEpochs) {
  TrainConfig t;
  t.best_window_steps = 10;
  EXPECT_EQ(t.best_window_epochs(2), 5);    // 300 users: two steps an epoch
  EXPECT_EQ(t.best_window_epochs(4), 3);    // rounded up
  EXPECT_EQ(t.best_window_epochs(600), 1);  // large logs: the epoch alone
  EXPECT_EQ(t.best_window_epochs(0), 10);   // no steps counts as one
  t.best_window_steps = 0;
  EXPECT_EQ(t.best_window_epochs(2), 1);  // 0 = the epoch's own MRR
}

TEST(Trainer, TestAndValidationUsersAreDisjointAndStableAcrossRunsAndSeeds) {
  // The roles are a function of the raw id alone: disjoint, near their shares, and the same
  // whatever the seed or the order of the users (so on every rank too).
  size_t counts[3] = {0, 0, 0};
  for (uint64_t id = 1; id <= 20000; ++id) {
    const UserRole role = user_role(id * 7919, 0.1, 0.2);
    ++counts[static_cast<int>(role)];
    EXPECT_EQ(role, user_role(id * 7919, 0.1, 0.2));
    // Validation users stay validation users whatever the test share.
    EXPECT_EQ(role == UserRole::kValidation,
              user_role(id * 7919, 0.1, 0.0) == UserRole::kValidation);
  }
  EXPECT_NEAR(counts[static_cast<int>(UserRole::kValidation)] / 20000.0, 0.1, 0.01);
  EXPECT_NEAR(counts[static_cast<int>(UserRole::kTest)] / 20000.0, 0.2, 0.01);

  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 200, 6000);
  std::vector<std::vector<size_t>> validation;
  for (const uint64_t seed : {7u, 8u}) {
    TrainOptions o = test::tiny_train_options(dir.file("model" + std::to_string(seed)), 1);
    o.train.seed = seed;
    o.train.test_fraction = 0.25;
    Trainer trainer(data, o);
    EXPECT_GT(trainer.test_users(), 30u);
    validation.push_back(trainer.validation_user_indices());
    for (const size_t u : trainer.validation_user_indices())
      EXPECT_EQ(user_role(data.data.user_raw_id[u], 0.2, 0.25), UserRole::kValidation);
    // One role a user; a few validation and training users have no pause to split at.
    const size_t with_a_role =
        trainer.train_users() + trainer.validation_users() + trainer.test_users();
    EXPECT_LE(with_a_role, data.data.num_users());
    EXPECT_GE(with_a_role, data.data.num_users() * 9 / 10);
    trainer.run();
    const auto json = read_model_json(o.save_dir);
    EXPECT_EQ(json.at("train").at("test_fraction"), 0.25);
    EXPECT_EQ(json.at("users").at("test"), trainer.test_users());
    EXPECT_EQ(json.at("train").at("short_time"), o.train.short_time);
  }
  EXPECT_EQ(validation[0], validation[1]);
  TrainOptions bad = test::tiny_train_options(dir.file("bad"), 1);
  bad.train.val_fraction = 0.5;
  bad.train.test_fraction = 0.5;
  EXPECT_THROW(Trainer(data, bad), Error);
  TrainOptions bad_time = test::tiny_train_options(dir.file("bad_time"), 1);
  bad_time.train.short_time = "shifted";
  EXPECT_THROW(Trainer(data, bad_time), Error);
}

namespace {

// 160 planted users, with every other user's rows (even raw ids) put into one hour: one
// sitting, no pause to split at.
Ingested every_other_user_in_one_sitting(test::TempDir& dir) {
  test::planted_data(dir, 160, 4800);
  std::istringstream in(test::read_text(dir.file("train.csv")));
  std::string line, out;
  std::getline(in, line);
  out = line + "\n";
  while (std::getline(in, line)) {
    const uint64_t user = std::stoull(line.substr(0, line.find(',')));
    if (user % 2 == 0) line = line.substr(0, line.rfind(',') + 1) + "2014-12-01 10";
    out += line + "\n";
  }
  std::filesystem::create_directories(dir.file("sittings"));
  test::write_text(dir.file("sittings/train.csv"), out);
  return ingest(dir.file("sittings/train.csv"), {}, 1);
}

}  // namespace

TEST(Trainer, GapSplitTrainsAcrossPausesAndOneSittingUsersOnTheirCountCut) {
  test::TempDir dir;
  const Ingested data = every_other_user_in_one_sitting(dir);

  TrainOptions o = test::tiny_train_options(dir.file("model"), 1);
  o.train.min_prefix = 1.0;  // whole histories: the real-token count below is exact
  o.train.split = "gap";
  o.train.one_sitting = "skip";
  Trainer trainer(data, o);
  const SplitRule gap = SplitRule::gap(static_cast<int>(o.train.min_gap_hours));
  int64_t expected = 0;
  size_t trained = 0, one_sitting = 0;
  for (size_t u = 0; u < data.data.num_users(); ++u) {
    if (user_role(data.data.user_raw_id[u], o.train.val_fraction, o.train.test_fraction) !=
        UserRole::kTrain)
      continue;
    const UserSplit split = split_user(data.data, data.data.user_rows(u), gap);
    if (!split.trainable()) {
      one_sitting += data.data.user_raw_id[u] % 2 == 0;
      continue;
    }
    EXPECT_NE(data.data.user_raw_id[u] % 2, 0u) << "a one-sitting user was split";
    EXPECT_GE(static_cast<int64_t>(data.data.time[split.short_part.begin]) -
                  static_cast<int64_t>(data.data.time[split.long_part.end - 1]),
              o.train.min_gap_hours);
    ++trained;
    expected += static_cast<int64_t>(std::min<uint64_t>(split.long_part.size(), o.model.n_max) +
                                     std::min<uint64_t>(split.short_part.size(), o.model.k_max));
  }
  EXPECT_GT(one_sitting, 40u);
  EXPECT_EQ(trainer.train_users(), trained);
  EXPECT_EQ(trainer.run().front().real_tokens, expected);

  // --one_sitting count: the same pairs, and the one-sitting users on their 90/10 cut too.
  o.save_dir = dir.file("model-one-sitting");
  o.train.one_sitting = "count";
  Trainer with_one_sitting(data, o);
  int64_t one_sitting_tokens = 0;
  size_t on_their_count_cut = 0;
  for (size_t u = 0; u < data.data.num_users(); ++u) {
    const RowRange rows = data.data.user_rows(u);
    if (user_role(data.data.user_raw_id[u], o.train.val_fraction, o.train.test_fraction) !=
            UserRole::kTrain ||
        split_user(data.data, rows, gap).trainable())
      continue;
    const UserSplit split = split_user(rows);
    ASSERT_TRUE(split.trainable());
    ++on_their_count_cut;
    one_sitting_tokens +=
        static_cast<int64_t>(std::min<uint64_t>(split.long_part.size(), o.model.n_max) +
                             std::min<uint64_t>(split.short_part.size(), o.model.k_max));
  }
  EXPECT_GE(on_their_count_cut, one_sitting);
  EXPECT_EQ(with_one_sitting.train_users(), trained + on_their_count_cut);
  EXPECT_EQ(with_one_sitting.run().front().real_tokens, expected + one_sitting_tokens);
  EXPECT_EQ(with_one_sitting.validation_users(), trainer.validation_users());  // still at a pause
  EXPECT_EQ(with_one_sitting.scored_validation_users(), trainer.scored_validation_users());
  TrainOptions bad = o;
  bad.train.one_sitting = "drop";
  EXPECT_THROW(Trainer(data, bad), Error);
}

// --val_one_sitting moved: validation users in one sitting pick the epoch too, each on the 90/10
// cut with the short part moved in time as lti eval's moved row moves it; those at a pause are
// scored as before, and all of them rank each other's short parts.
TEST(Trainer, ValidationScoresOneSittingUsersOnAMovedCountCut) {
  test::TempDir dir;
  const Ingested data = every_other_user_in_one_sitting(dir);

  TrainOptions o = test::tiny_train_options(dir.file("model"), 1);
  o.train.val_fraction = 0.3;  // enough of both kinds
  o.train.val_one_sitting = "moved";
  o.model.time_init = "random";  // a fresh model that sees the time, so that moving shows
  Trainer trainer(data, o);
  const SplitRule gap = SplitRule::gap(static_cast<int>(o.train.min_gap_hours));
  std::vector<size_t> at_a_pause, in_one_sitting;
  for (size_t u = 0; u < data.data.num_users(); ++u) {
    if (user_role(data.data.user_raw_id[u], o.train.val_fraction, o.train.test_fraction) !=
        UserRole::kValidation)
      continue;
    const RowRange rows = data.data.user_rows(u);
    if (split_user(data.data, rows, gap).trainable())
      at_a_pause.push_back(u);
    else if (split_user(rows).trainable())
      in_one_sitting.push_back(u);
  }
  ASSERT_GE(at_a_pause.size(), 5u);
  ASSERT_GE(in_one_sitting.size(), 5u);
  for (const size_t u : at_a_pause) EXPECT_NE(data.data.user_raw_id[u] % 2, 0u);
  for (const size_t u : in_one_sitting) EXPECT_EQ(data.data.user_raw_id[u] % 2, 0u);
  EXPECT_EQ(trainer.validation_user_indices(), at_a_pause);
  EXPECT_EQ(trainer.validation_one_sitting_indices(), in_one_sitting);
  EXPECT_EQ(trainer.scored_validation_users(), at_a_pause.size() + in_one_sitting.size());

  // The validation MRR is that of both kinds of pairs ranked together.
  auto& model = trainer.model();
  const PairVectors paused =
      encode_pairs(model, data.data, at_a_pause, 32, torch::kCPU, false, gap);
  const PairVectors cut =
      encode_pairs(model, data.data, in_one_sitting, 32, torch::kCPU, false, SplitRule::count());
  const PairVectors moved = encode_pairs(model, data.data, in_one_sitting, 32, torch::kCPU, false,
                                         SplitRule::count(), PairParts::kMovedShortOnly);
  EXPECT_FALSE(torch::allclose(moved.short_vec, cut.short_vec)) << "the short parts were moved";
  const RetrievalMetrics together = retrieval_metrics(
      torch::cat({paused.long_vec, cut.long_vec}), torch::cat({paused.short_vec, moved.short_vec}));
  EXPECT_EQ(together.users, at_a_pause.size() + in_one_sitting.size());
  EXPECT_NEAR(trainer.validate().mrr, together.mrr, 1e-6);

  // model.json says how many of each kind picked the epoch; skip scores the paused ones alone.
  trainer.run();
  const auto users = read_model_json(dir.file("model")).at("users");
  EXPECT_EQ(users.at("validation"), at_a_pause.size());
  EXPECT_EQ(users.at("validation_one_sitting_moved"), in_one_sitting.size());
  o.save_dir = dir.file("model-skip");
  o.train.val_one_sitting = "skip";
  Trainer skipping(data, o);
  EXPECT_EQ(skipping.validation_user_indices(), at_a_pause);
  EXPECT_TRUE(skipping.validation_one_sitting_indices().empty());
  o.train.val_one_sitting = "count";
  EXPECT_THROW(Trainer(data, o), Error);
}

// Adam's first step moves every weight with a gradient by its learning rate (m / sqrt(v) is
// the gradient's sign): the tables by --embedding_lr, the rest by --lr. A resume keeps both.
TEST(Trainer, EmbeddingTablesLearnAtTheirOwnRate) {
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 100, 6000);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 1);
  o.train.lr = 1e-4;
  o.train.embedding_lr = 1e-2;
  Trainer trainer(data, o);
  auto& f = *trainer.model().feature_embedding;
  const auto item = f.item->weight.detach().clone(), proj = f.proj->weight.detach().clone();
  trainer.first_step_losses(1);
  const double item_step = (f.item->weight - item).abs().max().item<double>();
  const double proj_step = (f.proj->weight - proj).abs().max().item<double>();
  EXPECT_NEAR(item_step, 1e-2, 1e-4);
  EXPECT_NEAR(proj_step, 1e-4, 1e-6);

  trainer.run();
  TrainOptions more = o;
  more.train.epochs = 2;
  more.resume = true;
  Trainer resumed(data, more);
  EXPECT_EQ(resumed.run().size(), 2u);
  // Saved with two groups, resumed with one: refused, not silently mixed.
  TrainOptions one_group = more;
  one_group.train.epochs = 3;
  one_group.train.embedding_lr = 0;
  Trainer mismatched(data, one_group);
  try {
    mismatched.run();
    ADD_FAILURE() << "a resume with another grouping was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("number of parameter groups"), std::string::npos)
        << e.what();
  }
}
