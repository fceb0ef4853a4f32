// `lti eval`: retrieval quality of the trained model on the validation users, against mean
// pooling and chance.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "lti/errors.h"
#include "lti/evaluation.h"
#include "lti/ingest.h"
#include "lti/model_config.h"
#include "lti/runtime.h"
#include "lti/sequences.h"
#include "lti/trainer.h"

namespace lti {

void add_eval_command(CLI::App& app, Action& slot) {
  struct Options {
    std::string data_path = "DATA/train_user";
    std::string save_dir = "saved_models";
    double val_fraction = -1;
    int64_t batch_size = 0;
    std::string device = "auto";
    std::string precision = "fp32";
    int threads = 0;
    bool json = false;
    bool strict = false;
    std::string split = "count";
    int min_gap_hours = 4;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Measure representation quality on the validation users: each long vector ranks the\n"
      "short vectors of all validation users by cosine; Recall@1/10/50 and MRR of the\n"
      "user's own, for the model, a mean-pooling baseline, a clock baseline (the boundary's\n"
      "hour of week alone) and chance");
  add_data_options(cmd, opt->data_path, opt->strict);
  add_compute_options(cmd, opt->device, opt->threads);
  add_precision_option(cmd, opt->precision, "inference (fp32 measures what export writes)");
  cmd->add_option("--save_dir", opt->save_dir, "Folder of the trained model")
      ->capture_default_str();
  cmd->add_option("--val_fraction", opt->val_fraction,
                  "Validation share (default: the one training used, from model.json)");
  add_inference_batch_option(cmd, opt->batch_size);
  cmd->add_option("--split", opt->split,
                  "count: long part the oldest 90% of a user's interactions, short part the rest "
                  "(the original design; the short part usually starts in the hour the long part "
                  "ends, which the clock row shows); gap: the short part is the first visit after "
                  "the 90% point that follows a gap of --min_gap_hours or more, users without one "
                  "are not scored")
      ->check(CLI::IsMember({"count", "gap"}))
      ->capture_default_str();
  cmd->add_option("--min_gap_hours", opt->min_gap_hours,
                  "--split gap: the hours between two interactions that end a visit")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "Print the results as JSON");

  cmd->callback([opt, &slot] {
    slot = [opt] {
      set_threads(opt->threads);
      const torch::Device device = pick_device(opt->device);
      const nlohmann::json meta = read_model_json(opt->save_dir);
      const double val_fraction =
          opt->val_fraction >= 0 ? opt->val_fraction : meta.at("train").value("val_fraction", 0.1);
      Encoders encoders;
      auto model = load_trained_model(opt->save_dir, device, &encoders);
      model->set_precision(resolve_precision(opt->precision, device));
      ReadOptions read_options;
      read_options.strict = opt->strict;
      const Ingested data = ingest_with_encoders(opt->data_path, read_options, std::move(encoders));
      std::vector<size_t> users;
      for (size_t u = 0; u < data.data.num_users(); ++u)
        if (is_validation_user(data.data.user_raw_id[u], val_fraction)) users.push_back(u);
      if (users.size() < 2)
        throw InputError("evaluation needs at least two validation users; found " +
                         std::to_string(users.size()));
      const SplitRule split =
          opt->split == "gap" ? SplitRule::gap(opt->min_gap_hours) : SplitRule::count();
      const EvalResult result = evaluate(*model, data.data, users, opt->batch_size, device, split);
      if (result.model.users < 2)
        throw InputError("evaluation needs at least two users the " + split.name() +
                         " split can cut; found " + std::to_string(result.model.users) + " of " +
                         std::to_string(users.size()) + " validation users");
      if (opt->json)
        std::cout << result.to_json().dump(2) << "\n";
      else
        std::cout << result.table();
      return kExitOk;
    };
  });
}

}  // namespace lti
