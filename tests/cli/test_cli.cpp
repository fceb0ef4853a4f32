// The `lti` executable end to end: help, exit codes, config files, synth and inspect.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

using lti::test::run_command;
using lti::test::TempDir;

namespace {
const std::string kLti = LTI_EXE;

// The key=value lines that --print_config prints.
std::map<std::string, std::string> printed_config(const std::string& output) {
  std::map<std::string, std::string> config;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) config[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return config;
}

// One value printed two ways ("0" from the compiled default, "0.0" from a TOML file).
bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a);
  const double y = std::strtod(b.c_str(), &end_b);
  return !a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0' && x == y;
}
}  // namespace

TEST(Cli, HelpAndVersion) {
  std::string out;
  EXPECT_EQ(run_command(kLti + " --help", out), 0);
  EXPECT_NE(out.find("synth"), std::string::npos);
  EXPECT_NE(out.find("inspect"), std::string::npos);
  EXPECT_NE(out.find("Exit codes"), std::string::npos);
  EXPECT_EQ(run_command(kLti + " --version", out), 0);
  EXPECT_NE(out.find("lti 0."), std::string::npos);
  EXPECT_EQ(run_command(kLti + " synth --help", out), 0);
  EXPECT_NE(out.find("--seed"), std::string::npos);
}

TEST(Cli, UsageErrorsExitWithTwo) {
  std::string out;
  EXPECT_EQ(run_command(kLti, out), 2);
  EXPECT_EQ(run_command(kLti + " inspect --no_such_flag", out), 2);
  EXPECT_EQ(run_command(kLti + " synth --users 10 --rows 5 -o /dev/null", out), 2);
  EXPECT_NE(out.find("--rows must be at least --users"), std::string::npos) << out;
}

TEST(Cli, SynthThenInspectPrintsTheSummary) {
  TempDir dir;
  std::string out;
  const std::string csv = dir.file("data/train.csv");
  ASSERT_EQ(
      run_command(
          kLti + " synth --users 50 --rows 4000 --items 900 --categories 30 --seed 3 -o " + csv,
          out),
      0)
      << out;
  EXPECT_NE(out.find("4000 rows"), std::string::npos) << out;
  ASSERT_EQ(run_command(kLti + " inspect --data_path " + dir.file("data"), out), 0) << out;
  EXPECT_NE(out.find("rows             4000"), std::string::npos) << out;
  EXPECT_NE(out.find("users            50"), std::string::npos) << out;
  EXPECT_NE(out.find("time range       2014-11-18"), std::string::npos) << out;
  ASSERT_EQ(run_command(kLti + " inspect --json --data_path " + csv, out), 0) << out;
  EXPECT_NE(out.find("\"rows\": 4000"), std::string::npos) << out;
  // 80 rows a user at random hours of a month: every user has a pause of 4 h to split at.
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(j.at("users_with_a_pause"), 50);
  EXPECT_EQ(j.at("trainable_users"), 50);
}

TEST(Cli, BadDataExitsWithThreeAndNamesTheProblem) {
  TempDir dir;
  std::string out;
  EXPECT_EQ(run_command(kLti + " inspect --data_path " + dir.file("missing"), out), 3);
  EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
  lti::test::write_text(dir.file("bad.csv"),
                        "user_id,item_id,behavior_type,user_geohash,item_category,time\n"
                        "1,2,1,,3,2014-11-18 00\n1,2,7,,3,2014-11-18 00\n");
  EXPECT_EQ(run_command(kLti + " inspect --data_path " + dir.file("bad.csv"), out), 0) << out;
  EXPECT_NE(out.find("bad.csv:3: behavior_type: not in 1..4: '7'"), std::string::npos) << out;
  EXPECT_NE(out.find("skipped rows     1"), std::string::npos) << out;
  EXPECT_EQ(run_command(kLti + " inspect --strict --data_path " + dir.file("bad.csv"), out), 3);
}

TEST(Cli, ConfigFileSetsOptionsAndFlagsOverrideIt) {
  TempDir dir;
  std::string out;
  lti::test::write_text(
      dir.file("c.toml"),
      "[synth]\nusers = 20\nrows = 500\nitems = 300\ncategories = 10\nseed = 9\n");
  ASSERT_EQ(run_command(kLti + " --config " + dir.file("c.toml") + " synth --rows 700 -o " +
                            dir.file("x.csv"),
                        out),
            0)
      << out;
  EXPECT_NE(out.find("700 rows, 20 users"), std::string::npos) << out;
  ASSERT_EQ(run_command(
                kLti + " --config " + dir.file("c.toml") + " --print_config synth --rows 700", out),
            0)
      << out;
  EXPECT_NE(out.find("users=20"), std::string::npos) << out;
  EXPECT_NE(out.find("rows=700"), std::string::npos) << out;
  // The project's own configuration files parse: a key in them that lti did not know would stop it.
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(LTI_SOURCE_DIR) + "/configs"))
    EXPECT_EQ(
        run_command(kLti + " --config " + entry.path().string() + " --print_config train", out), 0)
        << entry.path() << "\n"
        << out;
}

// A misspelt key, or one in the wrong section, stops lti (exit 2) with the file, line and key,
// and says where the key belongs; CLI11 alone ignored such keys, so `deptth = 3` trained the
// default depth without a word. A value the option refuses is told with its line too.
TEST(Cli, ConfigFileKeysLtiDoesNotKnowAreRefusedByLine) {
  TempDir dir;
  const std::string path = dir.file("c.toml");
  const auto refused = [&](const std::string& toml, const std::string& message) {
    lti::test::write_text(path, toml);
    std::string out;
    EXPECT_EQ(run_command(kLti + " --config " + path + " --print_config train", out), 2) << toml;
    EXPECT_NE(out.find(path + ":" + message), std::string::npos) << toml << "\n" << out;
    EXPECT_EQ(out.find("train.depth="), std::string::npos) << out;  // nothing printed as if valid
  };
  refused("log_level = \"info\"\n\n[train]\nepochs = 2  # two\ndeptth = 3\n",
          "5: 'deptth' is not an option of [train] (lti train --help lists them)");
  refused("depth = 3\n", "1: 'depth' is not a top-level option; it is an option under [train]");
  refused("[export]\nredis = \"localhost:1\"\nmin_gap_hours = 2\n",
          "3: 'min_gap_hours' is not an option of [export]; it is an option under [train], [eval]");
  refused(
      "[train]\nlog_level = \"debug\"\n",
      "2: 'log_level' is not an option of [train]; it is a top-level option (before any section)");
  refused("[trian]\ndepth = 3\n", "1: [trian] is not a subcommand of lti");
  refused("print_config = true\n",
          "1: 'print_config' can be given on the command line only, not in a config file");
  refused("[train]\ndeptth\n", "2: 'deptth' is not an option of [train]");  // a bare flag
  // CLI11 2.1.2 would cut this password at the '#' and go on with the rest.
  refused("[export]\nredis = \"redis://:pa#ss@localhost:6379\"\n",
          "2: a '#' inside a quoted value would be read as the start of a comment");
  // A value CLI11 refuses names its line too, where it came from the file.
  refused("[train]\n\nsplit = \"gapp\"\n", "3)");
  lti::test::write_text(path, "[train]\nsplit = \"gap\"\n");
  std::string from_flag;
  EXPECT_EQ(
      run_command(kLti + " --config " + path + " --print_config train --split gapp", from_flag), 2);
  EXPECT_NE(from_flag.find("gapp not in"), std::string::npos) << from_flag;
  EXPECT_EQ(from_flag.find(path), std::string::npos) << from_flag;  // the flag's, not the file's
  // The same keys in their sections are fine.
  lti::test::write_text(
      path,
      "log_level = \"info\"\n[train]\ndepth = 3  # three\nsave_dir = \"m\"  # a # b\n"
      "# save_dir = \"a#b\" (a comment line)\n");
  std::string out;
  ASSERT_EQ(run_command(kLti + " --config " + path + " --print_config train", out), 0) << out;
  EXPECT_NE(out.find("train.depth=3"), std::string::npos) << out;
  // CLI11 prints a value read from a file in single quotes.
  EXPECT_TRUE(out.find("train.save_dir='m'\n") != std::string::npos ||
              out.find("train.save_dir=\"m\"\n") != std::string::npos)
      << out;
}

// configs/default.toml says it writes the defaults out: every option it prints must be the
// compiled default, so that a default changed in the code cannot leave the file behind.
TEST(Cli, DefaultTomlWritesOutTheCompiledDefaults) {
  std::string compiled, from_file;  // --print_config prints every subcommand's options
  ASSERT_EQ(run_command(kLti + " --print_config train", compiled), 0) << compiled;
  ASSERT_EQ(run_command(kLti + " --config " + std::string(LTI_SOURCE_DIR) +
                            "/configs/default.toml --print_config train",
                        from_file),
            0)
      << from_file;
  const auto want = printed_config(compiled), got = printed_config(from_file);
  ASSERT_GT(want.size(), 10u) << compiled;
  EXPECT_EQ(got.size(), want.size()) << from_file;
  for (const auto& [key, value] : want) {
    const auto it = got.find(key);
    ASSERT_NE(it, got.end()) << key;
    EXPECT_TRUE(same_value(it->second, value))
        << key << ": default.toml gives " << it->second << ", the code " << value;
  }
}

// configs/seed.toml is how the original design stays reproducible: it must parse, and every
// value it sets must be the one in effect, whatever the defaults have become since.
TEST(Cli, SeedTomlSetsTheOriginalDesign) {
  const std::string path = std::string(LTI_SOURCE_DIR) + "/configs/seed.toml";
  std::map<std::string, std::string> in_file;  // "train.depth" -> "4", from the file itself
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  const auto trim = [](const std::string& text) {
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return std::string();
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
  };
  std::string section;
  for (std::string line; std::getline(file, line);) {
    line = trim(line.substr(0, line.find('#')));  // no value in seed.toml holds a '#'
    if (line.empty()) continue;
    if (line.front() == '[') {
      section = line.substr(1, line.find(']') - 1) + ".";
      continue;
    }
    const size_t eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << line;
    in_file[section + trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  // Where the defaults moved on from the original design.
  for (const char* key : {"train.depth", "train.loss", "train.split", "train.tower_init"})
    ASSERT_EQ(in_file.count(key), 1u) << key;
  EXPECT_EQ(in_file["train.depth"], "4");
  std::string out;
  ASSERT_EQ(run_command(kLti + " --config " + path + " --print_config train", out), 0) << out;
  const auto in_effect = printed_config(out);
  for (const auto& [key, value] : in_file) {
    const auto it = in_effect.find(key);
    ASSERT_NE(it, in_effect.end()) << key;
    EXPECT_TRUE(same_value(it->second, value))
        << key << ": seed.toml gives " << value << ", in effect " << it->second;
  }
}

TEST(Cli, TrainWritesAModelAndRefusesImpossibleOptions) {
  TempDir dir;
  std::string out;
  const std::string csv = dir.file("data/train.csv");
  ASSERT_EQ(run_command(
                kLti + " synth --users 60 --rows 3000 --items 500 --categories 20 -o " + csv, out),
            0)
      << out;
  const std::string small_model =
      " --hidden_dim 16 --item_embedding_dim 8 --cate_embedding_dim 8 --depth 1 --heads 2 "
      "--dim_head 8"
      " --moe_experts 4 --moe_hidden 16 --n_max 32 --k_max 8 --batch_size 16 --threads 1";
  ASSERT_EQ(run_command(kLti + " train --epochs 2 --data_path " + csv + " --save_dir " +
                            dir.file("model") + small_model,
                        out),
            0)
      << out;
  EXPECT_NE(out.find("epoch 2 loss"), std::string::npos) << out;
  EXPECT_NE(out.find("experts min"), std::string::npos) << out;
  // A handful of validation users: the log says how much one of them moves the MRR.
  EXPECT_NE(out.find("validation users pick the best epoch and stop training early: one user "
                     "moves their MRR by up to "),
            std::string::npos)
      << out;
  for (const char* f : {"feature_embedding.pth", "moe_layer.pth", "long_term.pth", "short_term.pth",
                        "model.json", "resume/optimizer.pt", "resume/moe_layer.pth",
                        "user_encoder.txt", "item_encoder.txt", "category_encoder.txt"})
    EXPECT_TRUE(std::filesystem::exists(dir.file("model/") + f)) << f;
  ASSERT_EQ(run_command(kLti + " train --resume --epochs 3 --data_path " + csv + " --save_dir " +
                            dir.file("model") + small_model,
                        out),
            0)
      << out;
  EXPECT_NE(out.find("resuming after epoch 2"), std::string::npos) << out;
  EXPECT_NE(out.find("trained 3 epoch(s)"), std::string::npos) << out;
  ASSERT_EQ(
      run_command(
          kLti + " eval --threads 1 --data_path " + csv + " --save_dir " + dir.file("model"), out),
      0)
      << out;
  EXPECT_NE(out.find("mean pooling"), std::string::npos) << out;
  EXPECT_NE(out.find("Recall@10"), std::string::npos) << out;
  EXPECT_NE(out.find("\nclock "), std::string::npos) << out;
  // By default: the test users, under the gap split.
  EXPECT_NE(out.find("test users (never trained on, never used to pick the epoch)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("(split: the short part starts after a pause of 4 h"), std::string::npos)
      << out;
  EXPECT_NE(out.find("model / mean pooling: Recall@10 "), std::string::npos) << out;
  ASSERT_EQ(run_command(kLti + " eval --threads 1 --split count --users validation --data_path " +
                            csv + " --save_dir " + dir.file("model"),
                        out),
            0)
      << out;
  EXPECT_NE(out.find("(split: by count, 90/10)"), std::string::npos) << out;
  EXPECT_NE(out.find("validation users (these picked the best epoch)"), std::string::npos) << out;
  // The gap split: the clock row, the split and the users left out are in the JSON too.
  ASSERT_EQ(
      run_command(kLti + " eval --threads 1 --json --split gap --min_gap_hours 2 --data_path " +
                      csv + " --save_dir " + dir.file("model"),
                  out),
      0)
      << out;
  {
    const auto j = nlohmann::json::parse(out.substr(out.find('{')));
    EXPECT_TRUE(j.at("clock").contains("mrr")) << out;
    EXPECT_EQ(j.at("model_moved").at("users"), j.at("model").at("users")) << out;
    EXPECT_TRUE(j.contains("clock_share_of_model")) << out;
    // Model over mean pooling with its interval, over the same users.
    const auto& margin = j.at("model_over_mean_pooling");
    EXPECT_EQ(margin.at("users"), j.at("model").at("users")) << out;
    EXPECT_GT(margin.at("resamples").get<int>(), 0) << out;
    EXPECT_TRUE(j.at("model").contains("mrr_se")) << out;
    EXPECT_EQ(j.at("split").at("rule"), "gap");
    EXPECT_EQ(j.at("split").at("min_gap_hours"), 2);
    EXPECT_GE(j.at("model").at("users").get<int>(), 2);
    EXPECT_EQ(j.at("model").at("users"), j.at("clock").at("users"));
  }
  {
    // A model folder from before test users and the gap split: its model.json has neither.
    std::filesystem::copy(dir.file("model"), dir.file("older"),
                          std::filesystem::copy_options::recursive);
    auto j = nlohmann::json::parse(lti::test::read_text(dir.file("older/model.json")));
    for (const char* key : {"test_fraction", "split", "eval_split", "min_gap_hours", "short_time"})
      j.at("train").erase(key);
    lti::test::write_text(dir.file("older/model.json"), j.dump(2));
    ASSERT_EQ(run_command(kLti + " eval --threads 1 --data_path " + csv + " --save_dir " +
                              dir.file("older"),
                          out),
              0)
        << out;
    EXPECT_NE(out.find("validation users (these picked the best epoch: the model predates test "
                       "users)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("after a pause of 4 h"), std::string::npos) << out;
    EXPECT_EQ(run_command(kLti + " eval --threads 1 --users test --data_path " + csv +
                              " --save_dir " + dir.file("older"),
                          out),
              2)
        << out;
    EXPECT_NE(out.find("trained before test users existed"), std::string::npos) << out;
  }
  EXPECT_TRUE(std::filesystem::exists(dir.file("model/report.html")));
  EXPECT_EQ(
      run_command(kLti + " eval --data_path " + csv + " --save_dir " + dir.file("nothing"), out), 4)
      << out;
  EXPECT_EQ(run_command(kLti + " train --moe_activated 9 --moe_experts 4 --data_path " + csv, out),
            2);
  EXPECT_NE(out.find("--moe_activated must not exceed --moe_experts"), std::string::npos) << out;
  EXPECT_EQ(run_command(kLti + " train --moe_balance sometimes --data_path " + csv, out), 2);
  EXPECT_EQ(run_command(kLti + " train --resume --depth 2 --data_path " + csv + " --save_dir " +
                            dir.file("model") + " --epochs 4" + " --hidden_dim 16",
                        out),
            4)
      << out;
}
