#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "lti/util/errors.h"
#include "lti/util/interrupt.h"

namespace lti {

namespace {

void setup_logging(const std::string& level_name, int verbosity) {
  auto logger = spdlog::stderr_color_mt("lti");
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  auto level = spdlog::level::from_str(level_name);
  // Each -v goes one level more verbose than --log_level.
  level = static_cast<spdlog::level::level_enum>(std::max(0, static_cast<int>(level) - verbosity));
  spdlog::set_level(level);
}

}  // namespace

std::vector<std::string>& mutable_command_line() {
  static std::vector<std::string> args;
  return args;
}

const std::vector<std::string>& command_line() { return mutable_command_line(); }

void add_data_options(CLI::App* cmd, std::string& data_path, bool& strict) {
  cmd->add_option("--data_path", data_path,
                  "CSV file, or folder whose *.csv files are read in name order")
      ->capture_default_str();
  cmd->add_flag("--strict", strict, "Stop at the first malformed row instead of skipping it");
}

void add_compute_options(CLI::App* cmd, std::string& device, int& threads) {
  cmd->add_option("--device", device, "auto (CUDA when available), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--threads", threads,
                  "CPU threads for LibTorch (0 = all available CPUs, shared among the "
                  "LOCAL_WORLD_SIZE ranks a launcher started here)")
      ->capture_default_str();
}

void add_precision_option(CLI::App* cmd, std::string& precision, const std::string& purpose) {
  cmd->add_option("--precision", precision,
                  "Arithmetic of the model's " + purpose +
                      ": fp32; bf16 (autocast: matrix products in bfloat16, weights, loss "
                      "and routing in fp32; about 3x faster where the hardware has it); auto = "
                      "bf16 on a CPU with AVX512-BF16 or AMX (and LibTorch with oneDNN) or a "
                      "GPU of compute capability 8.0+, fp32 elsewhere")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
      ->capture_default_str();
}

void add_inference_batch_option(CLI::App* cmd, int64_t& batch_size) {
  cmd->add_option("--batch_size", batch_size,
                  "Users per inference batch, sorted by length (0 = automatic: 64 on a CPU, "
                  "512 on a GPU)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

int run_cli(int argc, char** argv) {
  mutable_command_line().assign(argv, argv + argc);
  CLI::App app{
      "lti: offline long-term user-interest vectors.\n"
      "Trains a Transformer + mixture-of-experts model on Tianchi behaviour logs and\n"
      "publishes every user's vector to Redis for online recommenders."};
  app.name("lti");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lti ") + LTI_VERSION);
  app.set_config("--config", "",
                 "TOML file of options (see configs/); flags on the command line override it.\n"
                 "Top-level keys set global options, [synth], [inspect], ... sections set\n"
                 "the options of that subcommand");
  // A key the config file misspells or puts in the wrong section is an error, not ignored: an
  // operator who wrote `deptth = 3` must not train the default depth unawares.
  app.allow_config_extras(CLI::config_extras_mode::error);
  bool print_config = false;
  app.add_flag("--print_config", print_config,
               "Print the effective configuration (config file + flags, defaults included) as "
               "TOML and exit")
      ->configurable(false);
  std::string log_level = "info";
  app.add_option("--log_level", log_level, "Log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  int verbosity = 0;
  app.add_flag("-v,--verbose", verbosity, "More verbose logging (repeatable: -vv)")
      ->configurable(false);
  app.footer(
      "Exit codes: 0 ok, 1 internal error, 2 usage/config error, 3 bad input data,\n"
      "4 bad or missing model files, 5 Redis error, 6 training diverged, 7 write error,\n"
      "8 model folder in use by another lti train, 130/143 stopped by SIGINT/SIGTERM.");

  Action action;
  add_synth_command(app, action);
  add_inspect_command(app, action);
  add_train_command(app, action);
  add_export_command(app, action);
  add_eval_command(app, action);

  // The config file named by --config, once parsed ("" when none).
  const auto config_path = [&app]() -> std::string {
    const CLI::Option* config = app.get_config_ptr();
    return config != nullptr && config->count() > 0 ? config->as<std::string>() : "";
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A mistake in the config file: say where in it.
    const std::string path = config_path();
    std::string where = path.empty() ? "" : config_value_cut_by_comment(path);
    if (where.empty() && !path.empty() && dynamic_cast<const CLI::ConfigError*>(&e) != nullptr) {
      where = describe_config_mistake(app, path);
      if (where.empty()) where = std::string(e.what()) + " (in " + path + ")";
    } else if (where.empty() && !path.empty()) {
      const std::string lines = config_lines_naming(path, e.what());
      if (!lines.empty()) where = std::string(e.what()) + " (" + lines + ")";
    }
    if (!where.empty()) {
      std::cerr << where << "\nRun with --help for more information.\n";
      return kExitUsage;
    }
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (const std::string path = config_path(); !path.empty()) {
    if (const std::string cut = config_value_cut_by_comment(path); !cut.empty()) {
      std::cerr << cut << "\n";
      return kExitUsage;
    }
  }
  if (print_config) {
    std::cout << app.config_to_str(true, false);
    return kExitOk;
  }
  setup_logging(log_level, verbosity);
  try {
    return action ? action() : kExitUsage;
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return e.code();
  } catch (const StopRequested& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return kExitFailure;
  }
}

}  // namespace lti
