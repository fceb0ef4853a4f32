// `lti eval`: retrieval quality of the trained model on held-out users (test users, or the
// validation users of an older model), against mean pooling, a clock and chance, and again with
// the short parts moved in time.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "lti/data/ingest.h"
#include "lti/data/sequences.h"
#include "lti/model/model_config.h"
#include "lti/model/runtime.h"
#include "lti/train/evaluation.h"
#include "lti/train/trainer.h"
#include "lti/util/errors.h"

namespace lti {

void add_eval_command(CLI::App& app, Action& slot) {
  struct Options {
    std::string data_path = "DATA/train_user";
    std::string save_dir = "saved_models";
    double val_fraction = -1, test_fraction = -1;  // -1: the model's (model.json)
    int64_t batch_size = 0;
    std::string device = "auto";
    std::string precision = "fp32";
    int threads = 0;
    bool json = false;
    bool strict = false;
    std::string split;      // empty: the model's eval_split (model.json), else gap
    int min_gap_hours = 0;  // 0: the model's (model.json), else 4
    std::string users;      // empty: test users where the model has them, else validation users
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Measure representation quality on users training held out: each long vector ranks the\n"
      "short vectors of all scored users by cosine; Recall@1/10/50 and MRR of the user's own,\n"
      "for the model, the model with each short part moved in time by a random 1-167 h (what\n"
      "it loses there came from the clock), a mean-pooling baseline, a clock baseline (the\n"
      "boundary's hour of week alone) and chance");
  add_data_options(cmd, opt->data_path, opt->strict);
  add_compute_options(cmd, opt->device, opt->threads);
  add_precision_option(cmd, opt->precision, "inference (fp32 measures what export writes)");
  cmd->add_option("--save_dir", opt->save_dir, "Folder of the trained model")
      ->capture_default_str();
  cmd->add_option("--users", opt->users,
                  "Whom to score. test: the users training held out for this (--test_fraction), "
                  "never trained on and never used to pick the epoch; validation: the users that "
                  "picked the best epoch. Default: test, or validation for a model trained "
                  "before test users existed (the table says which)")
      ->check(CLI::IsMember({"test", "validation"}));
  cmd->add_option("--val_fraction", opt->val_fraction,
                  "Validation share (default: the one training used, from model.json)");
  cmd->add_option("--test_fraction", opt->test_fraction,
                  "Test share (default: the one training used, from model.json)");
  add_inference_batch_option(cmd, opt->batch_size);
  cmd->add_option("--split", opt->split,
                  "gap: the short part starts after a pause of --min_gap_hours or more near the "
                  "90% point (the first at or after it, else the last before it that leaves the "
                  "long part half the history); users in one sitting are not scored. "
                  "count: the oldest 90% and the rest (the original design; the short part "
                  "usually continues the long part's last sitting, which the clock row shows). "
                  "Default: the model's --eval_split (gap)")
      ->check(CLI::IsMember({"count", "gap"}));
  cmd->add_option("--min_gap_hours", opt->min_gap_hours,
                  "--split gap: the hours between two interactions that separate visits (default: "
                  "the model's, from model.json)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", opt->json, "Print the results as JSON");

  cmd->callback([opt, &slot] {
    slot = [opt] {
      set_threads(opt->threads);
      const torch::Device device = pick_device(opt->device);
      const nlohmann::json meta = read_model_json(opt->save_dir);
      const nlohmann::json& trained = meta.at("train");
      const double val_fraction =
          opt->val_fraction >= 0 ? opt->val_fraction : trained.value("val_fraction", 0.1);
      // A model trained before test users existed has no test_fraction: its held-out users are
      // the validation users, which also picked its best epoch.
      const bool has_test_users = trained.contains("test_fraction");
      const double test_fraction =
          opt->test_fraction >= 0 ? opt->test_fraction : trained.value("test_fraction", 0.0);
      const std::string who = !opt->users.empty() ? opt->users
                              : has_test_users    ? "test"
                                                  : "validation";
      if ((who == "test" || opt->test_fraction >= 0) && !has_test_users)
        throw Error(kExitUsage, "--users test, --test_fraction: '" + opt->save_dir +
                                    "' was trained before test users existed (it trained on "
                                    "every user but its validation users): use --users "
                                    "validation");
      const UserRole role = who == "test" ? UserRole::kTest : UserRole::kValidation;
      const SplitRule split = SplitRule::named(
          !opt->split.empty() ? opt->split : trained.value("eval_split", std::string("gap")),
          opt->min_gap_hours > 0 ? opt->min_gap_hours : trained.value("min_gap_hours", int64_t{4}),
          "--split");
      Encoders encoders;
      auto model = load_trained_model(opt->save_dir, device, &encoders);
      model->set_precision(resolve_precision(opt->precision, device));
      ReadOptions read_options;
      read_options.strict = opt->strict;
      const Ingested data = ingest_with_encoders(opt->data_path, read_options, std::move(encoders));
      std::vector<size_t> users;
      for (size_t u = 0; u < data.data.num_users(); ++u)
        if (user_role(data.data.user_raw_id[u], val_fraction, test_fraction) == role)
          users.push_back(u);
      if (users.size() < 2)
        throw InputError("evaluation needs at least two " + who + " users; found " +
                         std::to_string(users.size()));
      EvalResult result = evaluate(*model, data.data, users, opt->batch_size, device, split);
      result.who = who == "test" ? "test users (never trained on, never used to pick the epoch)"
                   : has_test_users
                       ? "validation users (these picked the best epoch)"
                       : "validation users (these picked the best epoch: the model predates test "
                         "users)";
      result.who_role = who;
      if (result.model.users < 2)
        throw InputError("evaluation needs at least two users the " + split.name() +
                         " split can cut; found " + std::to_string(result.model.users) + " of " +
                         std::to_string(users.size()) + " " + who + " users");
      if (opt->json)
        std::cout << result.to_json().dump(2) << "\n";
      else
        std::cout << result.table();
      return kExitOk;
    };
  });
}

}  // namespace lti
