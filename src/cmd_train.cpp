// `lti train`: CSV -> trained model in --save_dir.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "lti/errors.h"
#include "lti/ingest.h"
#include "lti/launch.h"
#include "lti/runtime.h"
#include "lti/trainer.h"

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
      "towers, BPR loss) and save it to --save_dir after every epoch");
  add_data_options(cmd, opt->data_path, opt->strict);
  add_compute_options(cmd, opt->train.device, opt->threads);
  cmd->add_option("--save_dir", opt->train.save_dir, "Where the model is written")
      ->capture_default_str();
  cmd->add_option("--min_item_count", m.min_item_count,
                  "Items seen in fewer rows are encoded as unknown")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--epochs", t.epochs, "Training epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--batch_size", t.batch_size, "Users per batch")
      ->check(CLI::Range(2, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--lr", t.lr, "Adam learning rate (fixed)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--bpr_scale", t.bpr_scale,
                  "Scale of the cosine difference in the BPR loss, softplus(-scale * (cos+ - "
                  "cos-)); 1 is the original design, larger values weigh hard negatives more")
      ->check(CLI::Range(0.1, 100.0))
      ->capture_default_str();
  cmd->add_option("--val_fraction", t.val_fraction,
                  "Share of users (by hash of the raw id) held out for validation")
      ->check(CLI::Range(0.0, 0.9))
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
  cmd->add_option("--depth", m.depth, "Transformer blocks per tower")->capture_default_str();
  cmd->add_option("--heads", m.heads, "Attention heads")->capture_default_str();
  cmd->add_option("--dim_head", m.dim_head, "Size of each attention head")->capture_default_str();
  cmd->add_option("--dropout", m.dropout, "Tower dropout")->capture_default_str();
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
  cmd->add_option("--moe_load_floor", m.moe_load_floor, "Floor of an expert's load when routing")
      ->capture_default_str();
  cmd->add_option("--moe_balance_power", m.moe_balance_power,
                  "Power of the load penalty when routing")
      ->capture_default_str();
  cmd->add_option("--moe_balance", m.moe_balance,
                  "Epoch-level load balancing: epoch, or none to turn it off")
      ->check(CLI::IsMember({"epoch", "none"}))
      ->capture_default_str();
  cmd->add_flag("--resume", opt->train.resume,
                "Continue from the last completed epoch in --save_dir (with the optimiser state)");
  cmd->add_flag("--check_replicas", opt->train.check_replicas,
                "Distributed training: after every step, verify that all ranks hold identical "
                "parameters (one small all-reduce per step)");
  cmd->footer(
      "Distributed: run one process per rank with RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT "
      "(and LOCAL_RANK) set, as torchrun --no-python, SLURM or a PyTorchJob do, or with "
      "scripts/launch-local.sh N. --batch_size is then the global batch; rank 0 writes the "
      "model.");

  cmd->callback([opt, &slot] {
    slot = [opt] {
      opt->train.model.validate();
      const int threads = set_threads(opt->threads);
      spdlog::info("LibTorch {} with {} thread(s)", TORCH_VERSION, threads);
      const LaunchEnvironment launch = LaunchEnvironment::from_environment();
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
      if (!history.empty())
        std::cout << "trained " << history.size()
                  << " epoch(s); last: " << history.back().summary_line() << "\nmodel saved in "
                  << opt->train.save_dir << "\n";
      return kExitOk;
    };
  });
}

}  // namespace lti
