// `lti train`: CSV -> trained model in --save_dir.
#include <spdlog/spdlog.h>

#include <iomanip>
#include <iostream>
#include <optional>

#include "commands.h"
#include "lti/data/ingest.h"
#include "lti/model/runtime.h"
#include "lti/train/trainer.h"
#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"
#include "lti/util/folder_lock.h"
#include "lti/util/interrupt.h"
#include "lti/util/launch.h"

namespace lti {

void add_train_command(CLI::App& app, Action& slot) {
  struct Options {
    std::string data_path = "DATA/train_user";
    bool strict = false;
    int threads = 0;
    TrainOptions train;
  };
  auto opt = std::make_shared<Options>();
  ModelConfig& m = opt->train.model;
  TrainConfig& t = opt->train.train;
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train the long-term interest model (feature embedding -> MoE -> two Transformer\n"
      "towers) so that a user's long vector finds their own short vector. The validation\n"
      "users are scored after every epoch; --save_dir keeps the epoch with the best\n"
      "validation MRR (and resume/, the last epoch, for --resume)");
  add_data_options(cmd, opt->data_path, opt->strict);
  add_compute_options(cmd, opt->train.device, opt->threads);
  add_precision_option(cmd, opt->train.precision,
                       "training (and its validation); recorded in model.json");
  cmd->add_option("--save_dir", opt->train.save_dir, "Where the model is written")
      ->capture_default_str();
  cmd->add_option("--min_item_count", m.min_item_count,
                  "Items seen in fewer rows are encoded as unknown")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--epochs", t.epochs,
                  "Training epochs; 0 = automatic: the fewest epochs that make at least "
                  "--min_steps optimiser steps (training users / --batch_size steps an epoch), "
                  "at least 1 and at most --max_auto_epochs. So 1,000 users get many short "
                  "epochs and 10 million users one or two long ones")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--min_steps", t.min_steps, "With --epochs 0: optimiser steps to reach at least")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max_auto_epochs", t.max_auto_epochs, "With --epochs 0: most epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--patience", t.patience,
                  "Stop after this many epochs without a better validation MRR (0 = never); the "
                  "best epoch is the one kept either way")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--patience_steps", t.patience_steps,
                  "... and at least this many optimiser steps: on a small log an epoch is a "
                  "step or two, too few to tell a better model from the noise of few "
                  "validation users")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--patience_trend", t.patience_trend,
                  "... and the validation MRR's least-squares line through the last N x that "
                  "patience no longer rising (0 = patience alone): on a sparse log a few "
                  "validation users make the MRR jump while it still rises slowly, and a lucky "
                  "early epoch would stop training half way")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--patience_trend_users", t.patience_trend_users,
                  "... where at least this many validation users are scored (patience alone "
                  "with fewer: a few dozen users make one epoch's MRR move by more than the "
                  "trend gains, and going on only gives a lucky epoch more chances)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--best_window_steps", t.best_window_steps,
                  "Keep the epoch whose validation MRR averaged over the epochs of about this "
                  "many optimiser steps ending with it is the best, and count patience from it "
                  "(0 = the epoch's own MRR; 10 kept no better epochs on small logs, "
                  "docs/quality.md)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--batch_size", t.batch_size,
                  "Users per batch (for --loss softmax also the candidates each long vector is "
                  "ranked among)")
      ->check(CLI::Range(2, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--lr", t.lr, "Adam learning rate (fixed)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--embedding_lr", t.embedding_lr,
                  "Adam learning rate of the embedding tables (item, category, weekday, hour, "
                  "weekend, behaviour); 0 = --lr. Adam moves a weight by about the learning "
                  "rate a step, and the tables start at N(0, 1)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--loss", t.loss,
                  "softmax: in-batch sampled softmax (InfoNCE) of cos(long, short) / "
                  "--temperature over the batch's short vectors; bpr: the original design's "
                  "triplets softplus(-scale * (cos+ - cos-)) with one random in-batch negative")
      ->check(CLI::IsMember({"softmax", "bpr"}))
      ->capture_default_str();
  cmd->add_option("--temperature", t.temperature, "--loss softmax: logits are cosine / temperature")
      ->check(CLI::Range(0.001, 10.0))
      ->capture_default_str();
  cmd->add_option("--bpr_scale", t.bpr_scale,
                  "--loss bpr: scale of the cosine difference; 1 is the original design, larger "
                  "values weigh hard negatives more")
      ->check(CLI::Range(0.1, 100.0))
      ->capture_default_str();
  cmd->add_option("--sort_window", t.sort_window,
                  "Length bucketing across batches: users are shuffled, sorted by history length "
                  "within windows of this many batches, and the batches shuffled (every user is "
                  "still seen once an epoch); 0 = random batches. Each step already encodes its "
                  "users in length-sorted chunks, so this saves little padding, and negatives of "
                  "one length cost quality: off by default")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--min_prefix", t.min_prefix,
                  "Prefix augmentation: each epoch a training user's history is cut at a random "
                  "point keeping at least this share of it before the split, so every "
                  "epoch brings new pairs; 1 = always the whole history. Validation, eval and "
                  "export use the whole history")
      ->check(CLI::Range(0.05, 1.0))
      ->capture_default_str();
  cmd->add_option("--val_fraction", t.val_fraction,
                  "Share of users (by a hash of the raw id) held out for validation: they pick "
                  "the best epoch and stop training early")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--test_fraction", t.test_fraction,
                  "Share of users (another range of the same hash) held out for lti eval: never "
                  "trained on and never used to pick an epoch. Export still writes their vectors")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--split", t.split,
                  "How a training user's history is cut into a long and a short part. gap: at "
                  "a pause of --min_gap_hours or more near the 90% point, the short part being "
                  "everything from there on (users in one sitting: --one_sitting); "
                  "count: the oldest 90% and the rest (the original design: the short part then "
                  "usually continues the long part's last sitting, and the model learns to "
                  "match the boundary's hour instead of interests)")
      ->check(CLI::IsMember({"count", "gap"}))
      ->capture_default_str();
  cmd->add_option("--eval_split", t.eval_split,
                  "How validation users are cut for scoring (and lti eval's default). gap: the "
                  "short part starts after a pause, so the boundary's hour of week cannot find "
                  "the user; count: 90/10, where the short part usually continues the long "
                  "part's last sitting and a clock alone scores well")
      ->check(CLI::IsMember({"count", "gap"}))
      ->capture_default_str();
  cmd->add_option(
         "--min_gap_hours", t.min_gap_hours,
         "The pause, in hours between two interactions, that separates two visits (--split "
         "gap, --eval_split gap)")
      ->check(CLI::Range(1, 24 * 365))
      ->capture_default_str();
  cmd->add_option("--short_time", t.short_time,
                  "moved: each epoch, every training pair's short part is moved in time by its "
                  "own random 1-167 hours, so that when the short part starts after the long "
                  "part ends teaches the model nothing (its vectors would match users by the "
                  "clock, not by interests); kept: the times as logged")
      ->check(CLI::IsMember({"kept", "moved"}))
      ->capture_default_str();
  cmd->add_option("--one_sitting", t.one_sitting,
                  "--split gap: what becomes of a training user with no pause to cut at (all "
                  "their interactions in one sitting). count: trained on the 90/10 cut (with "
                  "--short_time moved the pair then says nothing of the clock); skip: not "
                  "trained on. lti eval never scores such users (validation: --val_one_sitting)")
      ->check(CLI::IsMember({"skip", "count"}))
      ->capture_default_str();
  cmd->add_option("--val_one_sitting", t.val_one_sitting,
                  "--eval_split gap: what becomes of a validation user with no pause to cut at. "
                  "moved: scored for picking the epoch on the 90/10 cut, the short part moved "
                  "in time by its own 1-167 hours so that the boundary says nothing (more users "
                  "pick the epoch on logs in sittings); skip: not scored. lti eval never scores "
                  "such users")
      ->check(CLI::IsMember({"skip", "moved"}))
      ->capture_default_str();
  cmd->add_option("--ema_steps", t.ema_steps,
                  "Validation, the kept epoch and the saved model use an exponential moving "
                  "average of the weights over about this many optimiser steps (training goes "
                  "on from the raw weights); 0 = the raw weights of each epoch's last step")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--seed", t.seed, "Random seed (initialisation, dropout, shuffling, negatives)")
      ->capture_default_str();
  cmd->add_option("--max_steps", t.max_steps_per_epoch,
                  "Stop each epoch after this many steps (0 = all; for benchmarks)")
      ->capture_default_str();
  cmd->add_option("--item_embedding_dim", m.item_embedding_dim, "Item embedding size")
      ->capture_default_str();
  cmd->add_option("--cate_embedding_dim", m.cate_embedding_dim, "Category embedding size")
      ->capture_default_str();
  cmd->add_option("--hidden_dim", m.hidden_dim, "Hidden size H of embedding, MoE and towers")
      ->capture_default_str();
  cmd->add_option("--depth", m.depth, "Transformer blocks per tower (the original design: 4)")
      ->capture_default_str();
  cmd->add_option("--heads", m.heads, "Attention heads")->capture_default_str();
  cmd->add_option("--dim_head", m.dim_head, "Size of each attention head")->capture_default_str();
  cmd->add_option("--dropout", m.dropout, "Tower dropout")->capture_default_str();
  cmd->add_option("--tower_init", m.tower_init,
                  "How the towers start: mean_pooling (attention near uniform, values passed "
                  "through: the tower starts close to the mean of its input and training improves "
                  "on it) or random (the original design)")
      ->check(CLI::IsMember({"mean_pooling", "random"}))
      ->capture_default_str();
  cmd->add_option("--time_init", m.time_init,
                  "How the weekday, hour and weekend features start: zero (their projection "
                  "weights start at zero, so the towers start from what was interacted with, not "
                  "when; training may still learn to use them) or random (the original design)")
      ->check(CLI::IsMember({"zero", "random"}))
      ->capture_default_str();
  cmd->add_option("--n_max", m.n_max, "N_MAX: most recent interactions kept in a long sequence")
      ->capture_default_str();
  cmd->add_option("--k_max", m.k_max, "K_MAX: most recent interactions kept in a short sequence")
      ->capture_default_str();
  cmd->add_option("--moe_experts", m.moe_experts, "Routed experts")->capture_default_str();
  cmd->add_option("--moe_shared", m.moe_shared, "Shared experts (always active)")
      ->capture_default_str();
  cmd->add_option("--moe_activated", m.moe_activated, "Routed experts per token (top-k)")
      ->capture_default_str();
  cmd->add_option("--moe_hidden", m.moe_hidden, "Hidden size of each expert's SwiGLU")
      ->capture_default_str();
  cmd->add_option("--moe_dropout", m.moe_dropout, "Expert dropout")->capture_default_str();
  cmd->add_option("--moe_balance", m.moe_balance,
                  "Expert load balancing. bias: DeepSeek-V3's balancing bias, added to the "
                  "affinities to choose the top-k experts (never to the gate values), moved by "
                  "--moe_bias_rate after every step towards equal use; divide: the original "
                  "design, affinity / the previous epoch's share (alternates between two states "
                  "from epoch to epoch); none: plain top-k")
      ->check(CLI::IsMember({"bias", "divide", "none"}))
      ->capture_default_str();
  cmd->add_option("--moe_bias_rate", m.moe_bias_rate,
                  "bias: step of the per-step update bias += rate * sign(mean count - count)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--moe_load_floor", m.moe_load_floor,
                  "divide: floor of an expert's share when routing")
      ->capture_default_str();
  cmd->add_option("--moe_balance_power", m.moe_balance_power,
                  "divide: power of the share penalty when routing")
      ->capture_default_str();
  cmd->add_flag("--resume", opt->train.resume,
                "Continue from the last completed epoch in --save_dir (with the optimiser state)");
  cmd->add_flag("--check_replicas", opt->train.check_replicas,
                "Distributed training: after every step, verify that all ranks hold identical "
                "parameters (one small all-reduce per step)");
  cmd->add_flag("--trace_test_users", opt->train.trace_test_users,
                "Benchmarks of the stopping rules: also score the test users after every epoch "
                "and record it in model.json's epochs (scripts/replay-early-stop.py shows what "
                "each rule's kept epoch scores). It never decides which epoch is kept or when "
                "training stops");
  cmd->footer(
      "Distributed: run one process per rank with RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT "
      "(and LOCAL_RANK) set, as torchrun --no-python, SLURM or a PyTorchJob do, or with "
      "scripts/launch-local.sh N. --batch_size is then the global batch; rank 0 writes the "
      "model.");

  cmd->callback([opt, &slot] {
    slot = [opt]() -> int {
      opt->train.model.validate();
      const int threads = set_threads(opt->threads);
      spdlog::info("LibTorch {} with {} thread(s)", TORCH_VERSION, threads);
      const LaunchEnvironment launch = LaunchEnvironment::from_environment();
      install_stop_handlers();  // before anything is written (SIGINT/SIGTERM: interrupt.h)
      // One writer per folder, for the whole run; taken before the data is read, so a second
      // run is refused at once. Holding it, any temporary file in the folder is a dead run's.
      std::optional<FolderLock> run_lock;
      if (launch.rank == 0) {
        run_lock.emplace(FolderLock::for_training(opt->train.save_dir));
        const size_t stale = remove_stale_temporaries(opt->train.save_dir) +
                             remove_stale_temporaries(opt->train.save_dir + "/resume");
        if (stale > 0)
          spdlog::warn("removed {} temporary file(s) that an interrupted run left in '{}'", stale,
                       opt->train.save_dir);
      }
      if (launch.distributed()) {
        // One GPU per local rank; the CPU otherwise.
        const bool cuda = pick_device(opt->train.device).is_cuda();
        if (cuda) opt->train.device = "cuda:" + std::to_string(launch.local_rank);
        opt->train.process_group =
            std::make_shared<ProcessGroup>(launch, pick_device(opt->train.device));
        if (launch.rank != 0) opt->train.progress = false;
      }
      ReadOptions read_options;
      read_options.strict = opt->strict;
      const Ingested data = ingest(opt->data_path, read_options, opt->train.model.min_item_count);
      spdlog::info("ingest: read {:.1f} s, encode {:.1f} s, sort {:.1f} s",
                   data.timings.read_seconds, data.timings.encode_seconds,
                   data.timings.sort_seconds);
      Trainer trainer(data, opt->train);
      const auto history = trainer.run();
      const std::string& dir = opt->train.save_dir;
      if (trainer.nothing_to_do()) {
        std::cout << "already trained " << history.size() << " epoch(s)"
                  << (trainer.best_epoch() > 0
                          ? " (kept: epoch " + std::to_string(trainer.best_epoch()) + ")"
                          : std::string())
                  << "; nothing left to do, '" << dir
                  << "' is unchanged. Ask for more with --epochs (or a larger --patience)\n";
        return kExitOk;
      }
      if (const Trainer::Interruption& stop = trainer.interrupted(); stop.signal != 0)
        throw StopRequested(
            stop.signal,
            signal_name(stop.signal) + ": stopped in epoch " + std::to_string(stop.epoch) +
                " after " + std::to_string(stop.step) + " step(s); that epoch is not saved. " +
                (trainer.best_epoch() > 0
                     ? "'" + dir + "' holds epoch " + std::to_string(trainer.best_epoch()) +
                           " (the best so far) and resume/ epoch " +
                           std::to_string(history.size()) +
                           ": continue with the same command and --resume"
                     : std::string("No epoch was completed and nothing was saved: run again "
                                   "to start over")));
      if (launch.rank != 0) {  // rank 0 validates and saves; the others only train
        int64_t steps = 0;
        double tokens_per_s = 0;
        for (const EpochStats& e : history) steps += e.steps, tokens_per_s = e.tokens_per_s;
        std::cout << "rank " << launch.rank << " of " << launch.world_size << ": trained "
                  << history.size() << " epoch(s), " << steps << " steps, " << std::fixed
                  << std::setprecision(0) << tokens_per_s << " tokens/s (all ranks)\n";
        return kExitOk;
      }
      if (!history.empty() && trainer.best_epoch() > 0)
        std::cout << "trained " << history.size() << " epoch(s); kept the best, epoch "
                  << trainer.best_epoch() << ": "
                  << history[static_cast<size_t>(trainer.best_epoch() - 1)].summary_line()
                  << "\nmodel saved in " << dir << "\n";
      return kExitOk;
    };
  });
}

}  // namespace lti
