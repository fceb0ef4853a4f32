// `lti inspect`: read the data the way training does and print what is in it.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "lti/data/data_summary.h"
#include "lti/data/ingest.h"
#include "lti/util/errors.h"

namespace lti {

void add_inspect_command(CLI::App& app, Action& slot) {
  struct Options {
    std::string data_path = "DATA/train_user";
    bool strict = false;
    uint64_t min_item_count = 1;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Read a data set like training does and print its summary: rows, users, items,\n"
      "categories, behaviour mix, time range, rows per user, skipped rows");
  add_data_options(cmd, opt->data_path, opt->strict);
  cmd->add_option("--min_item_count", opt->min_item_count,
                  "Items seen in fewer rows are encoded as unknown (index 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "Print the summary as JSON");

  cmd->callback([opt, &slot] {
    slot = [opt] {
      ReadOptions read_options;
      read_options.strict = opt->strict;
      const Ingested in = ingest(opt->data_path, read_options, opt->min_item_count);
      spdlog::info("read {:.2f} s, encoders {:.2f} s, sort {:.2f} s", in.timings.read_seconds,
                   in.timings.encode_seconds, in.timings.sort_seconds);
      const DataSummary summary = DataSummary::compute(in.stats, in.data, in.encoders);
      if (opt->json)
        std::cout << summary.to_json().dump(2) << "\n";
      else
        std::cout << summary.to_text();
      return kExitOk;
    };
  });
}

}  // namespace lti
