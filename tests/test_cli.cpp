// The `lti` executable end to end: help, exit codes, config files, synth and inspect.
#include <gtest/gtest.h>

#include "test_util.h"

using lti::test::run_command;
using lti::test::TempDir;

namespace {
const std::string kLti = LTI_EXE;
}

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
  // The project's own configuration files parse.
  ASSERT_EQ(run_command(kLti + " --config " + std::string(LTI_SOURCE_DIR) +
                            "/configs/default.toml --print_config inspect",
                        out),
            0)
      << out;
}
