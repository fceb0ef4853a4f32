// `lti synth`: synthetic Tianchi-format data with planted interests.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "lti/data/synth.h"
#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"

namespace lti {

void add_synth_command(CLI::App& app, Action& slot) {
  struct Options {
    SynthOptions synth;
    std::string output = "DATA/train_user/tianchi_mobile_recommend_train_user.csv";
    std::string preset;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Write synthetic behaviour logs in the Tianchi CSV format, deterministic for --seed,\n"
      "with realistic marginals and planted user interests (docs/synthetic-data.md)");
  cmd->add_option("-o,--output", opt->output, "CSV file to write (parent folders are created)")
      ->capture_default_str();
  cmd->add_option("--preset", opt->preset,
                  "Size preset; 'tianchi' = the full data set's scale (10,000 users, "
                  "12,256,906 rows, 2,876,947 items, 8,916 categories). Explicit size flags "
                  "override the preset")
      ->check(CLI::IsMember({"", "tianchi"}));
  auto* users =
      cmd->add_option("--users", opt->synth.users, "Number of users")->capture_default_str();
  auto* rows = cmd->add_option("--rows", opt->synth.rows, "Number of rows (interactions)")
                   ->capture_default_str();
  auto* items =
      cmd->add_option("--items", opt->synth.items, "Item catalogue size")->capture_default_str();
  auto* categories = cmd->add_option("--categories", opt->synth.categories, "Number of categories")
                         ->capture_default_str();
  cmd->add_option("--seed", opt->synth.seed, "Random seed; same seed and sizes, same bytes")
      ->capture_default_str();
  cmd->add_option("--interest_share", opt->synth.interest_share,
                  "Share of a user's new interactions drawn from their planted interest "
                  "categories (0 = no planted signal)")
      ->capture_default_str();
  cmd->add_option("--interest_drift", opt->synth.interest_drift,
                  "How far a user's interest weights move from their first interaction to their "
                  "last, in [0, 1] (0 = fixed interests; a new interest emerges when > 0)")
      ->capture_default_str();
  cmd->add_option("--revisit_share", opt->synth.revisit_share,
                  "Share of interactions that revisit one of the user's items, in [0, 1) (as in "
                  "click logs; 0 = a ratings-style log: each item at most once per user)")
      ->capture_default_str();
  cmd->add_option("--min_interests", opt->synth.min_interests,
                  "Fewest interest categories per user")
      ->capture_default_str();
  cmd->add_option("--max_interests", opt->synth.max_interests, "Most interest categories per user")
      ->capture_default_str();

  cmd->callback([opt, &slot, users, rows, items, categories] {
    slot = [opt, users, rows, items, categories] {
      SynthOptions s = opt->synth;
      if (opt->preset == "tianchi") {
        const SynthOptions preset = SynthOptions::tianchi_preset();
        if (users->count() == 0) s.users = preset.users;
        if (rows->count() == 0) s.rows = preset.rows;
        if (items->count() == 0) s.items = preset.items;
        if (categories->count() == 0) s.categories = preset.categories;
      }
      s.validate();
      const auto parent = std::filesystem::path(opt->output).parent_path();
      if (!parent.empty()) create_folders(parent.string());
      spdlog::info("synth: {} users, {} rows, {} items, {} categories, seed {} -> {}", s.users,
                   s.rows, s.items, s.categories, s.seed, opt->output);
      const auto start = std::chrono::steady_clock::now();
      const SynthReport r = synthesize(s, opt->output);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << "wrote " << opt->output << ": " << r.rows << " rows, " << r.users << " users, "
                << r.distinct_items << " distinct items, " << r.distinct_categories
                << " categories, " << r.bytes << " bytes in " << secs << " s\n";
      return kExitOk;
    };
  });
}

}  // namespace lti
