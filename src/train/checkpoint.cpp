// The trainer's checkpoints (SPEC section 5): every file of an epoch staged and renamed together,
// model.json last; restoring the last epoch for --resume; loading a trained model for eval and
// export.
#include <torch/torch.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "lti/model/precision.h"
#include "lti/train/trainer.h"
#include "lti/train/training_report.h"
#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"
#include "lti/util/folder_lock.h"

namespace lti {

namespace {
constexpr int kFormatVersion = 1;
constexpr const char* kResumeFolder = "resume";
constexpr const char* kAverageFile = "weight_average.pt";
}  // namespace

void Trainer::save(const std::vector<EpochStats>& history, bool best) {
  const std::string& dir = options_.save_dir;
  const std::string resume_dir = dir + "/" + kResumeFolder;
  create_folders(resume_dir);
  // Every file of the checkpoint is written before any replaces the previous epoch's, so a
  // full disk leaves the previous checkpoint whole. The save dir's weights are the best epoch's
  // (what export and eval read); resume/ holds the last epoch's, with the optimiser state.
  StagedFiles files;
  if (!encoders_saved_) data_.encoders.stage(dir, files);
  if (best) {
    // With --ema_steps the kept weights are the average; training resumes from the raw ones.
    std::optional<WeightAverage::Applied> averaged;
    if (average_) averaged.emplace(*average_);
    model_->stage_weights(dir, files);
  }
  model_->stage_weights(resume_dir, files);
  if (average_) files.add(resume_dir + "/" + kAverageFile, average_->bytes());
  std::ostringstream optimizer_bytes;
  torch::serialize::OutputArchive archive;
  optimizer_->save(archive);
  archive.save_to(optimizer_bytes);
  files.add(resume_dir + "/optimizer.pt", optimizer_bytes.str());

  nlohmann::json j;
  j["format_version"] = kFormatVersion;
  j["model"] = options_.model.to_json();
  j["train"] = options_.train.to_json();
  j["vocabulary"] = {{"users", data_.encoders.user.num_known()},
                     {"items", data_.encoders.item.num_known()},
                     {"categories", data_.encoders.category.num_known()},
                     {"item_table_rows", data_.encoders.item.table_size()},
                     {"category_table_rows", data_.encoders.category.table_size()}};
  j["data"] = data_summary_;
  j["users"] = {{"train", train_users_.size()},
                {"validation", val_users_.size()},
                {"validation_one_sitting_moved", val_moved_users_.size()},
                {"test", test_users_}};
  if (options_.trace_test_users) j["users"]["test_traced"] = traced_test_users_.size();
  j["epochs_completed"] = history.size();
  j["epochs_planned"] = planned_epochs();
  j["best_epoch"] = best_epoch_;
  j["epochs"] = nlohmann::json::array();
  for (const auto& e : history) j["epochs"].push_back(e.to_json());
  j["device"] = device_.str();
  j["precision"] = precision_name(precision_);  // of the last epoch (a resume may change it)
  j["libtorch"] = TORCH_VERSION;
  files.add(dir + "/report.html", render_training_report(j));
  // Renamed last: a model.json that names an epoch means that epoch's files are complete.
  files.add(dir + "/model.json", j.dump(2) + "\n");
  const FolderLock readers_wait = FolderLock::for_saving(dir);  // eval/export see whole epochs
  files.commit();
  encoders_saved_ = true;
}

std::vector<EpochStats> Trainer::restore() {
  const nlohmann::json j = read_model_json(options_.save_dir);
  const ModelConfig saved = ModelConfig::from_json(j.at("model"));
  if (saved.to_json() != options_.model.to_json())
    throw ModelError("--resume: the model options or data differ from '" + options_.save_dir +
                     "/model.json' (saved: " + saved.to_json().dump() + ")");
  // The last epoch's weights and optimiser state (a folder written before resume/ existed
  // holds them in the save dir itself).
  const std::string resume_dir = options_.save_dir + "/" + kResumeFolder;
  const std::string from =
      std::filesystem::exists(resume_dir + "/optimizer.pt") ? resume_dir : options_.save_dir;
  model_->load_weights(from);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(from + "/optimizer.pt", device_);
    optimizer_->load(archive);
  } catch (const c10::Error& e) {
    // LibTorch says why (a truncated file, or another number of parameter groups: a run saved
    // with another --embedding_lr grouping).
    throw ModelError("--resume: cannot read '" + from +
                     "/optimizer.pt': " + e.what_without_backtrace());
  }
  if (average_) {
    const std::string path = from + "/" + kAverageFile;
    if (std::filesystem::exists(path)) {
      average_->load(path, device_);
    } else {
      // A run saved without --ema_steps: the average starts from the restored weights.
      average_ = std::make_unique<WeightAverage>(model_->parameters(),
                                                 static_cast<double>(options_.train.ema_steps));
      spdlog::warn(
          "--resume: '{}' holds no weight average; --ema_steps starts one from the "
          "restored weights",
          from);
    }
  }
  // LibTorch 2.x restores each parameter group's options (the saved run's learning rates) with
  // Adam's moments; this run's --lr (and --embedding_lr, the second group: parameter_groups())
  // apply from here on.
  auto& groups = optimizer_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i)
    static_cast<torch::optim::AdamOptions&>(groups[i].options())
        .lr(i == 0 ? options_.train.lr : options_.train.embedding_lr);
  std::vector<EpochStats> history;
  for (const auto& e : j.at("epochs")) {
    EpochStats s;
    s.epoch = e.at("epoch");
    s.steps = e.at("steps");
    s.loss = e.at("loss");
    s.val_loss = e.at("val_loss");
    s.val_separation = e.at("val_separation");
    s.val_recall_at_10 = e.value("val_recall_at_10", 0.0);
    s.val_mrr = e.value("val_mrr", 0.0);
    s.tokens_per_s = e.at("tokens_per_s");
    s.real_tokens = e.value("real_tokens", int64_t{0});
    s.padding_tokens = e.value("padding_tokens", int64_t{0});
    s.seconds = e.at("seconds");
    s.test_recall_at_10 = e.value("test_recall_at_10", -1.0);
    s.test_mrr = e.value("test_mrr", -1.0);
    s.test_pooling_recall_at_10 = e.value("test_pooling_recall_at_10", -1.0);
    s.test_pooling_mrr = e.value("test_pooling_mrr", -1.0);
    s.usage = ExpertUsage::from_json(e.at("expert_usage"));
    history.push_back(s);
  }
  // The shares measured in the last completed epoch route the next one ("divide"); the bias
  // came back with the weights.
  if (!history.empty()) model_->moe_layer->set_next_load(history.back().usage.share);
  best_epoch_ = j.value("best_epoch", static_cast<int64_t>(history.size()));
  if (best_epoch_ > 0 && best_epoch_ <= static_cast<int64_t>(history.size())) {
    std::vector<double> val_mrr;
    for (int64_t e = 0; e < best_epoch_; ++e)
      val_mrr.push_back(history[static_cast<size_t>(e)].val_mrr);
    best_score_ = early_stop().score(val_mrr);
  } else {
    best_score_ = -1;
  }
  spdlog::info("resuming after epoch {} from '{}' (best so far: epoch {})", history.size(), from,
               best_epoch_);
  return history;
}

nlohmann::json read_model_json(const std::string& save_dir) {
  const std::string path = save_dir + "/model.json";
  std::ifstream in(path);
  if (!in) throw ModelError("no trained model in '" + save_dir + "': cannot open " + path);
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("format_version", 0) != kFormatVersion)
      throw ModelError(path + ": unsupported format_version (expected " +
                       std::to_string(kFormatVersion) + ")");
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(path + " is not valid JSON (truncated?): " + e.what());
  }
}

std::unique_ptr<UserInterestModel> load_trained_model(const std::string& save_dir,
                                                      const torch::Device& device,
                                                      Encoders* encoders) {
  // model.json, the encoders and the weights of one epoch, not a mix with the next one.
  const FolderLock one_epoch = FolderLock::for_reading(save_dir);
  const nlohmann::json j = read_model_json(save_dir);
  const ModelConfig config = ModelConfig::from_json(j.at("model"));
  Encoders loaded = Encoders::load(save_dir);
  if (static_cast<int64_t>(loaded.item.num_known()) != config.num_items ||
      static_cast<int64_t>(loaded.category.num_known()) != config.num_categories)
    throw ModelError("'" + save_dir + "': encoder files do not match model.json (" +
                     std::to_string(loaded.item.num_known()) + " items vs " +
                     std::to_string(config.num_items) + ")");
  auto model = std::make_unique<UserInterestModel>(config);
  model->load_weights(save_dir);
  model->to(device);
  model->train(false);
  if (encoders) *encoders = std::move(loaded);
  return model;
}

}  // namespace lti
