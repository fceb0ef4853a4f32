// The bad-input battery: each case through the `lti` executable, with the exact error expected,
// the exit code scripts rely on, no crash, no hang (every run has a time limit) and no partial
// output (no model folder, no Redis key, the previous model left as it was).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "lti/util/rng.h"
#include "redis_server.h"
#include "test_util.h"

using lti::test::read_text;
using lti::test::run_command;
using lti::test::TempDir;
using lti::test::write_text;
namespace fs = std::filesystem;

namespace {

const std::string kLti = LTI_EXE;
const std::string kHeader = "user_id,item_id,behavior_type,user_geohash,item_category,time\n";

struct Outcome {
  int code;
  std::string output;
};

// Runs `lti ARGS` with a time limit: a hang shows up as exit code 124.
Outcome run_lti(const std::string& args, const std::string& shell_prefix = "") {
  Outcome o;
  o.code = run_command(shell_prefix + "timeout 120 " + kLti + " " + args, o.output);
  return o;
}

#define EXPECT_OUTPUT_HAS(outcome, text) \
  EXPECT_NE((outcome).output.find(text), std::string::npos) << (outcome).output

std::string row(const std::string& user, const std::string& item, const std::string& behavior,
                const std::string& category, const std::string& time) {
  return user + "," + item + "," + behavior + ",," + category + "," + time + "\n";
}

std::string good_rows() {
  return row("1", "2", "1", "3", "2014-11-18 00") + row("1", "4", "2", "3", "2014-11-18 01") +
         row("2", "2", "4", "5", "2014-11-19 10");
}

// A file whose every row but the good ones is bad: read with `inspect`, the bad rows are
// skipped, each named by file, line and field, and counted.
struct SkippedRowCase {
  std::string name;
  std::string bad_rows;               // after the header and good_rows()
  std::vector<std::string> messages;  // each must appear
  size_t skipped;
};

}  // namespace

TEST(BadInput, FatalDataProblemsExitWithThreeAndWriteNoModel) {
  TempDir dir;
  const std::string model = dir.file("model");
  std::string garbage;
  lti::Rng rng(99);
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>(rng.below(256)));
  struct Case {
    std::string file, content, message;
  };
  const std::vector<Case> cases = {
      {"empty.csv", "", "' is empty (expected header: user_id,item_id,"},
      {"header_only.csv", kHeader, "header_only.csv' holds no valid row (0 skipped)"},
      {"garbage.csv", garbage, "garbage.csv':1: header lacks column 'user_id'"},
      {"missing_column.csv",
       "user_id,item_id,behavior_type,user_geohash,time\n1,2,1,,2014-11-18 00\n",
       "missing_column.csv':1: header lacks column 'item_category'"},
      {"duplicate_header.csv",
       "user_id,item_id,behavior_type,user_geohash,item_category,time,user_id\n",
       "duplicate_header.csv':1: header repeats column 'user_id'"},
      {"only_bad_rows.csv", kHeader + row("1", "2", "9", "3", "2014-11-18 00"),
       "only_bad_rows.csv' holds no valid row (1 skipped)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string path = dir.file(c.file);
    write_text(path, c.content);
    const Outcome inspect = run_lti("inspect --data_path " + path);
    EXPECT_EQ(inspect.code, 3);
    EXPECT_OUTPUT_HAS(inspect, c.message);
    const Outcome train = run_lti("train --epochs 1 --data_path " + path + " --save_dir " + model);
    EXPECT_EQ(train.code, 3);
    EXPECT_OUTPUT_HAS(train, c.message);
    EXPECT_FALSE(fs::exists(model)) << "a failed run left a model folder";
  }
}

TEST(BadInput, BadRowsAreSkippedNamedAndCounted) {
  TempDir dir;
  const std::string ten_mb(10 * 1024 * 1024, '7');
  const std::vector<SkippedRowCase> cases = {
      {"negative_and_huge_ids",
       row("-1", "2", "1", "3", "2014-11-18 00") +
           row("1", "99999999999999999999999", "1", "3", "2014-11-18 00") +
           row("1", "2", "1", "18446744073709551616", "2014-11-18 00") +
           row("", "2", "1", "3", "2014-11-18 00"),
       {":5: user_id: not a non-negative integer: '-1'",
        ":6: item_id: does not fit in 64 bits: '99999999999999999999999'",
        ":7: item_category: does not fit in 64 bits: '18446744073709551616'", ":8: user_id: empty"},
       4},
      {"times",
       row("1", "2", "1", "3", "2014-13-18 00") + row("1", "2", "1", "3", "2014-11-18 24") +
           row("1", "2", "1", "3", "18/11/2014 00") + row("1", "2", "1", "3", "2014-02-30 10") +
           row("1", "2", "1", "3", "1969-12-31 23"),
       {":5: time: not a valid 'YYYY-MM-DD HH': '2014-13-18 00'", ":6: time: not a valid",
        ":7: time: not a valid 'YYYY-MM-DD HH': '18/11/2014 00'",
        ":8: time: not a valid 'YYYY-MM-DD HH': '2014-02-30 10'",
        ":9: time: not a valid 'YYYY-MM-DD HH': '1969-12-31 23'"},
       5},
      {"behaviours",
       row("1", "2", "0", "3", "2014-11-18 00") + row("1", "2", "5", "3", "2014-11-18 00"),
       {":5: behavior_type: not in 1..4: '0'", ":6: behavior_type: not in 1..4: '5'"},
       2},
      {"ten_megabyte_line",
       row("1", ten_mb, "1", "3", "2014-11-18 00"),
       {":5: item_id: does not fit in 64 bits: '7777777777"},
       1},
      {"truncated_in_time",
       "1,2,1,,3,2014-1",
       {":5: time: not a valid 'YYYY-MM-DD HH': '2014-1'"},
       1},
      {"truncated_in_row", "1,2", {":5: row: too few columns"}, 1},
  };
  for (const SkippedRowCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file(c.name + ".csv");
    write_text(path, kHeader + good_rows() + c.bad_rows);
    const Outcome o = run_lti("inspect --data_path " + path);
    EXPECT_EQ(o.code, 0);
    for (const std::string& m : c.messages) EXPECT_OUTPUT_HAS(o, c.name + ".csv" + m);
    EXPECT_OUTPUT_HAS(o, "rows             3\n");
    EXPECT_OUTPUT_HAS(o, "skipped rows     " + std::to_string(c.skipped) + "\n");
    // --strict: the first bad row is fatal, named the same way.
    const Outcome strict = run_lti("inspect --strict --data_path " + path);
    EXPECT_EQ(strict.code, 3);
    EXPECT_OUTPUT_HAS(strict, c.name + ".csv" + c.messages.front());
  }
}

TEST(BadInput, AFolderWithOneBadFileFailsNamingThatFile) {
  TempDir dir;
  fs::create_directories(dir.file("data"));
  write_text(dir.file("data/a.csv"), kHeader + good_rows());
  write_text(dir.file("data/b.csv"), "user_id,item_id,time\n1,2,2014-11-18 00\n");
  write_text(dir.file("data/notes.txt"), "not a CSV, not read\n");
  const Outcome o = run_lti("inspect --data_path " + dir.file("data"));
  EXPECT_EQ(o.code, 3);
  EXPECT_OUTPUT_HAS(o, "data/b.csv':1: header lacks column 'behavior_type'");
  fs::remove(dir.file("data/b.csv"));
  const Outcome good = run_lti("inspect --data_path " + dir.file("data"));
  EXPECT_EQ(good.code, 0) << good.output;
  EXPECT_OUTPUT_HAS(good, "files            1\n");
}

// ---------------------------------------------------------------------------------------------
// Model folders: a tiny model is trained once; each case damages a copy of it.

namespace {

const std::string kTinyModel = lti::test::kTinyModelFlags;

class BadModelFolder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    std::string out;
    ASSERT_EQ(run_command(kLti + " synth -o " + dir_->file("data/train.csv") +
                              " --users 60 --rows 3000 --items 300 --categories 10",
                          out),
              0)
        << out;
    for (const auto& [name, hidden] : {std::pair{"model", "16"}, std::pair{"other", "24"}}) {
      ASSERT_EQ(
          run_command(kLti + " train --data_path " + dir_->file("data") + " --save_dir " +
                          dir_->file(name) + " --epochs 1 --hidden_dim " + hidden + kTinyModel,
                      out),
          0)
          << out;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // A fresh copy of the good model, to be damaged by the test.
  std::string copy_of_model() {
    const std::string copy = dir_->file("copy");
    fs::remove_all(copy);
    fs::copy(dir_->file("model"), copy);
    return copy;
  }

  // Both readers of a model folder refuse it with exit code 4 and `message`; the export writes
  // no key.
  void expect_refused(const std::string& folder, const std::string& message) {
    lti::test::RedisServer redis;
    const std::string data = " --data_path " + dir_->file("data") + " --save_dir " + folder;
    const Outcome eval = run_lti("eval" + data);
    EXPECT_EQ(eval.code, 4);
    EXPECT_OUTPUT_HAS(eval, message);
    const Outcome exported =
        run_lti("export --redis 127.0.0.1:" + std::to_string(redis.port()) + data);
    EXPECT_EQ(exported.code, 4);
    EXPECT_OUTPUT_HAS(exported, message);
    std::string keys;
    run_command("redis-cli -p " + std::to_string(redis.port()) + " dbsize", keys);
    EXPECT_EQ(keys, "0\n") << "a refused model wrote keys";
  }

  static std::string other(const std::string& file) { return dir_->file("other/" + file); }
  static TempDir* dir_;
};

TempDir* BadModelFolder::dir_ = nullptr;

}  // namespace

TEST_F(BadModelFolder, TheGoodModelIsAccepted) {
  lti::test::RedisServer redis;
  const std::string data =
      " --data_path " + dir_->file("data") + " --save_dir " + dir_->file("model");
  EXPECT_EQ(run_lti("eval" + data).code, 0);
  const Outcome o = run_lti("export --redis 127.0.0.1:" + std::to_string(redis.port()) + data);
  EXPECT_EQ(o.code, 0) << o.output;
  EXPECT_OUTPUT_HAS(o, "users expected 60, written 60, failed 0");
}

TEST_F(BadModelFolder, NoModelAtAll) {
  const std::string empty = dir_->file("empty");
  fs::create_directories(empty);
  expect_refused(empty,
                 "no trained model in '" + empty + "': cannot open " + empty + "/model.json");
}

TEST_F(BadModelFolder, MissingWeights) {
  const std::string m = copy_of_model();
  fs::remove(m + "/long_term.pth");
  expect_refused(m, "cannot open model file '" + m + "/long_term.pth'");
}

TEST_F(BadModelFolder, TruncatedWeights) {
  const std::string m = copy_of_model();
  fs::resize_file(m + "/moe_layer.pth", 100);
  expect_refused(
      m, "'" + m + "/moe_layer.pth' is not a readable state dict (truncated or foreign file?)");
}

TEST_F(BadModelFolder, TruncatedModelJson) {
  const std::string m = copy_of_model();
  const std::string json = read_text(m + "/model.json");
  write_text(m + "/model.json", json.substr(0, json.size() / 2));
  expect_refused(m, m + "/model.json is not valid JSON (truncated?)");
}

TEST_F(BadModelFolder, ModelJsonOfAnotherRun) {
  const std::string m = copy_of_model();
  fs::copy_file(other("model.json"), m + "/model.json", fs::copy_options::overwrite_existing);
  expect_refused(m, "'" + m + "/feature_embedding.pth': '");  // ... has shape [.., 16], expected 24
}

TEST_F(BadModelFolder, WeightsOfAnotherRun) {
  const std::string m = copy_of_model();
  fs::copy_file(other("long_term.pth"), m + "/long_term.pth", fs::copy_options::overwrite_existing);
  expect_refused(m, "'" + m + "/long_term.pth': '");
}

TEST_F(BadModelFolder, TruncatedEncoder) {
  const std::string m = copy_of_model();
  const std::string text = read_text(m + "/item_encoder.txt");
  size_t cut = 0;
  for (int line = 0; line < 5; ++line) cut = text.find('\n', cut) + 1;
  write_text(m + "/item_encoder.txt", text.substr(0, cut));
  expect_refused(m, "'" + m + "/item_encoder.txt': header says known=");
}

// ---------------------------------------------------------------------------------------------
// A full disk while saving: the previous epoch's model stays whole and loadable.

namespace {

// Trains one epoch into `model`, then tries to resume for a second one with `shell_prefix`
// making the disk too small; the failed save must change nothing.
void expect_full_disk_keeps_the_model(const TempDir& dir, const std::string& model,
                                      const std::string& shell_prefix) {
  std::string out;
  ASSERT_EQ(run_command(kLti + " synth -o " + dir.file("data/train.csv") +
                            " --users 60 --rows 3000 --items 300 --categories 10",
                        out),
            0);
  const std::string args =
      " --data_path " + dir.file("data") + " --save_dir " + model + " --hidden_dim 16" + kTinyModel;
  ASSERT_EQ(run_command(kLti + " train --epochs 1" + args, out), 0) << out;
  const auto before = lti::test::model_folder_files(model);
  const Outcome failed = run_lti("train --resume" + args + " --epochs 2", shell_prefix);
  EXPECT_EQ(failed.code, 7) << failed.output;
  EXPECT_OUTPUT_HAS(failed, "cannot write '" + model + "/");
  EXPECT_EQ(lti::test::model_folder_files(model), before)
      << "the failed save changed the model folder";
  const Outcome eval = run_lti("eval --data_path " + dir.file("data") + " --save_dir " + model);
  EXPECT_EQ(eval.code, 0) << eval.output;
}

}  // namespace

TEST(FullDisk, FileSizeLimitDuringSaveKeepsThePreviousModel) {
  TempDir dir;
  // ulimit -f 64 (KiB): the weight files (about 20 KiB each) are written, then optimizer.pt
  // (about 210 KiB) fails; with files replaced one by one, the weights would already be new.
  expect_full_disk_keeps_the_model(dir, dir.file("model"), "ulimit -f 64; ");
}

TEST(FullDisk, FullTmpfsDuringSaveKeepsThePreviousModel) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TempDir dir;
  const std::string mount_point = dir.file("small-disk");
  fs::create_directories(mount_point);
  std::string out;
  // Room for one model (about 410 KiB: the best epoch's weights, and resume/ with the last
  // epoch's and optimizer.pt) but not for a second checkpoint beside it.
  if (run_command("mount -t tmpfs -o size=480k tmpfs " + mount_point, out) != 0)
    LTI_SKIP_OR_FAIL_IN_CI("cannot mount a tmpfs here: " + out);
  expect_full_disk_keeps_the_model(dir, mount_point + "/model", "");
  run_command("umount " + mount_point, out);
}
