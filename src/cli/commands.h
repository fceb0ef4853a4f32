// The subcommands of the `lti` executable. Each add_* registers its options on the root app
// and returns the action to run once the command line (and config file) has been parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lti {

using Action = std::function<int()>;

// Sets `slot` to the subcommand's action when that subcommand is chosen.
void add_synth_command(CLI::App& app, Action& slot);
void add_inspect_command(CLI::App& app, Action& slot);
void add_train_command(CLI::App& app, Action& slot);
void add_export_command(CLI::App& app, Action& slot);
void add_eval_command(CLI::App& app, Action& slot);

// Options several subcommands share, registered with one wording everywhere.
// --data_path (CSV file or folder) and --strict.
void add_data_options(CLI::App* cmd, std::string& data_path, bool& strict);
// --device auto|cpu|cuda and --threads.
void add_compute_options(CLI::App* cmd, std::string& device, int& threads);
// --precision auto|fp32|bf16; `purpose` completes "Arithmetic of the model's ..." in --help.
void add_precision_option(CLI::App* cmd, std::string& precision, const std::string& purpose);
// --batch_size for inference (eval, export): users per batch, 0 = automatic.
void add_inference_batch_option(CLI::App* cmd, int64_t& batch_size);

// The process's command-line arguments (to tell what came from the command line, which every
// user of the machine can read, from what came from a config file).
const std::vector<std::string>& command_line();

// The first mistake in the config file at `path` that CLI11 refused (a key that is no option of
// its section, or an option the command line alone may set), as "path:line: what is wrong";
// empty if the file holds none of those (or cannot be read).
std::string describe_config_mistake(CLI::App& app, const std::string& path);

// "path:line" of each key of the config file that CLI11's error `message` names (as --key) and
// the command line does not set (so its value came from the file); several joined by ", ";
// empty when none does.
std::string config_lines_naming(const std::string& path, const std::string& message);

// "path:line: ..." for a quoted value of the config file that holds a '#': CLI11 2.1.2 takes it
// for a comment and cuts the value there (a Redis password "a#b" would become "a), so lti
// refuses the file instead. Empty when there is none.
std::string config_value_cut_by_comment(const std::string& path);

// Parses argv, runs the chosen subcommand and returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace lti
