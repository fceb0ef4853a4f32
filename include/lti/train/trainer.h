// `lti train`: training of the model on user sequences (SPEC 4.4 and 5). After every epoch the
// validation users are scored; the save dir holds the epoch with the best validation MRR, and
// its resume/ folder the last epoch with the optimiser state (for --resume).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lti/data/batch.h"
#include "lti/data/batch_sampler.h"
#include "lti/data/ingest.h"
#include "lti/data/sequences.h"
#include "lti/model/model.h"
#include "lti/model/model_config.h"
#include "lti/model/precision.h"
#include "lti/train/adam.h"
#include "lti/train/distributed.h"
#include "lti/train/early_stop.h"
#include "lti/train/weight_average.h"
#include "lti/util/rng.h"

namespace lti {

struct EpochStats {
  int64_t epoch = 0;  // 1-based
  int64_t steps = 0;
  double loss = 0;              // mean training loss
  double val_loss = 0;          // the same loss on validation users (eval mode, fixed negatives)
  double val_separation = 0;    // mean cos(own pair) - mean cos(other pairs), validation users
  double val_recall_at_10 = 0;  // long vectors retrieving their own short vector (SPEC 8)
  double val_mrr = 0;           // mean reciprocal rank of the own short vector (SPEC 8)
  double tokens_per_s = 0;
  // Interactions in the epoch's batches, and padding positions beside them (long and short
  // parts, all ranks): what the batches cost beyond the real tokens.
  int64_t real_tokens = 0, padding_tokens = 0;
  double seconds = 0;
  ExpertUsage usage;
  // --trace_test_users only (else -1): the test users' Recall@10 and MRR as `lti eval` gives
  // them for this epoch's weights, the model's and mean pooling's. Recorded, never used.
  double test_recall_at_10 = -1, test_mrr = -1, test_pooling_recall_at_10 = -1,
         test_pooling_mrr = -1;

  nlohmann::json to_json() const;
  std::string summary_line() const;
};

struct TrainOptions {
  ModelConfig model;
  TrainConfig train;
  std::string save_dir = "saved_models";
  std::string device = "auto";
  std::string precision = "auto";  // auto, fp32 or bf16 (precision.h)
  bool resume = false;
  bool progress = true;  // a progress bar on a terminal, periodic lines otherwise
  // Distributed training: this process is one rank. --batch_size is then the global batch:
  // each step every rank trains on its slice of it and gradients are averaged. Rank 0 alone
  // validates and writes the model.
  std::shared_ptr<ProcessGroup> process_group;
  bool check_replicas = false;  // after every step, verify all ranks hold identical parameters
  // For benchmarks of the stopping rules: score the test users after every epoch too and
  // record it in model.json's epochs, so that scripts/replay-early-stop.py can show what any
  // rule's kept epoch scores from one run. It never decides which epoch is kept or when
  // training stops.
  bool trace_test_users = false;
};

class Trainer {
 public:
  // `data` must outlive the trainer. The vocabulary sizes of options.model are set from it.
  Trainer(const Ingested& data, TrainOptions options);

  // Trains the remaining epochs (TrainConfig::resolved_epochs), saving after each, and stops
  // early as early_stop() says. Throws Error(kExitDiverged)
  // when the loss stops being finite; the checkpoint of the last completed epoch stays intact.
  std::vector<EpochStats> run();

  // --resume found nothing left to do (the epochs were trained, or patience had run out):
  // run() trained and wrote nothing.
  bool nothing_to_do() const { return nothing_to_do_; }
  // Set when a SIGINT/SIGTERM stopped run(): the signal, the epoch it stopped in and the steps
  // of that epoch done (0: stopped before the epoch began). That epoch is not saved.
  struct Interruption {
    int signal = 0;
    int64_t epoch = 0, step = 0;
  };
  const Interruption& interrupted() const { return interrupted_; }

  // The epoch whose weights are in the save dir (1-based; 0 before any).
  int64_t best_epoch() const { return best_epoch_; }
  // Optimiser steps of one epoch, and the epochs this run trains in all.
  int64_t steps_per_epoch() const;
  int64_t planned_epochs() const { return options_.train.resolved_epochs(steps_per_epoch()); }
  // When this run stops early and which epoch it keeps: TrainConfig::patience_epochs for its
  // epochs' steps, a trend window of patience_trend times as many epochs, and
  // TrainConfig::best_window_epochs.
  EarlyStop early_stop() const;

  // Validation figures of the model as it is now (eval mode).
  struct Validation {
    double loss = 0, separation = 0, recall_at_10 = 0, mrr = 0;
  };
  Validation validate();
  // The same of the weights the run keeps: their average with --ema_steps, else validate().
  Validation validate_average();
  // The test users' figures of the weights the run keeps (--trace_test_users), into `stats`.
  void trace_test_users(EpochStats& stats);
  const std::vector<size_t>& validation_user_indices() const { return val_users_; }

  // Training steps of one epoch; exposed for tests that check determinism step by step.
  std::vector<double> first_step_losses(int64_t steps);

  UserInterestModel& model() { return *model_; }
  size_t train_users() const { return train_users_.size(); }
  size_t validation_users() const { return val_users_.size(); }
  // Validation users in one sitting scored on a moved 90/10 cut (--val_one_sitting moved).
  const std::vector<size_t>& validation_one_sitting_indices() const { return val_moved_users_; }
  size_t scored_validation_users() const { return val_users_.size() + val_moved_users_.size(); }
  size_t test_users() const { return test_users_; }

 private:
  // A step's users (this rank's slice of the global batch), sorted by length and cut into
  // chunks that each pad to their own longest member. The loss is still taken over the whole
  // step, so the negatives are those of the random batch; only the padding is less.
  struct Prepared {
    std::vector<SequenceBatch> long_chunks, short_chunks;
    int64_t positions = 0;  // padded positions of all chunks, real tokens included
  };
  Prepared prepare(const std::vector<size_t>& users, size_t begin, size_t end, int64_t epoch) const;
  // The (long, short) pair a training user gives in `epoch` (--min_prefix); the same on every
  // rank.
  UserSplit training_split(size_t user, int64_t epoch) const;
  // Adam's parameter groups: one, or the embedding tables apart at --embedding_lr.
  std::vector<torch::optim::OptimizerParamGroup> parameter_groups() const;
  // The epoch's user order and its global batches (before the split over ranks), at most
  // --max_steps of them.
  EpochBatches global_batches(int64_t epoch) const;
  // Distributed softmax: every rank's short vectors (no graph; a leaf that collects the
  // gradient of this rank's loss), this rank's starting at `offset`.
  struct GatheredShorts {
    torch::Tensor all;
    int64_t offset = 0;
  };
  GatheredShorts gather_short_vectors(const torch::Tensor& short_vec);
  // The configured loss of a batch of vectors of one process (--loss softmax or bpr).
  torch::Tensor batch_loss(const torch::Tensor& long_vec, const torch::Tensor& short_vec,
                           Rng& rng) const;
  double train_step(const Prepared& batch, Rng& rng, int64_t& tokens);
  // A fresh run's MoE bias, set before the first step from the first batch's routing.
  void calibrate_balance();
  bool leader() const { return !group_ || group_->rank() == 0; }
  bool stop_requested();  // a stop signal on any rank
  // Checkpoints (checkpoint.cpp): the epoch's files staged and renamed together, model.json
  // last; the last epoch and the optimiser state back for --resume.
  void save(const std::vector<EpochStats>& history, bool best);
  std::vector<EpochStats> restore();

  const Ingested& data_;
  TrainOptions options_;
  torch::Device device_;
  Precision precision_ = Precision::kFp32;
  std::unique_ptr<UserInterestModel> model_;
  std::unique_ptr<Adam> optimizer_;
  std::unique_ptr<WeightAverage> average_;  // --ema_steps > 0
  ProcessGroup* group_ = nullptr;
  // Users of data_ that their split rule can cut (train_rule_, eval_rule_), by role.
  std::vector<size_t> train_users_, val_users_;
  std::vector<size_t> val_moved_users_;  // in one sitting, scored moved (--val_one_sitting)
  size_t test_users_ = 0;  // never trained on nor scored here: `lti eval` reports on them
  std::vector<size_t> traced_test_users_;  // those the eval split cuts, --trace_test_users only
  SplitRule train_rule_, eval_rule_;
  nlohmann::json data_summary_;  // written into model.json at every save
  int64_t best_epoch_ = 0;
  double best_score_ = -1;  // EarlyStop::score of best_epoch_
  bool encoders_saved_ = false;
  bool nothing_to_do_ = false;
  Interruption interrupted_;
};

// model.json of a save dir (ModelError when missing or unreadable).
nlohmann::json read_model_json(const std::string& save_dir);

// Loads a trained model (configuration, weights) and its encoders from a save dir.
std::unique_ptr<UserInterestModel> load_trained_model(const std::string& save_dir,
                                                      const torch::Device& device,
                                                      Encoders* encoders);

}  // namespace lti
