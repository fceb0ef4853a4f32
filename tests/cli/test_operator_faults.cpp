// What an operator does to a running `lti` (issue 12), through the executable with real
// processes and signals: SIGINT/SIGTERM at many moments, a second signal, kill -9, two runs
// into one folder, eval while training, outputs that cannot be written, --resume with nothing
// left to do, blank lines under --strict.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.h"
#include "test_util.h"

using lti::test::read_text;
using lti::test::run_command;
using lti::test::TempDir;
using lti::test::write_text;
namespace fs = std::filesystem;

namespace {

const std::string kLti = LTI_EXE;
// Steps of milliseconds and a save after every epoch: a signal at a random moment often lands
// while an epoch's files are being staged or renamed.
const std::string kTinyModel = lti::test::kTinyModelFlags + " --hidden_dim 16 --patience 0";

// `lti ARGS` started in the background (its own process: signals reach lti itself).
class Background {
 public:
  Background(const std::string& args, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", ("exec " + kLti + " " + args + " >" + log + " 2>&1").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  // The exit code, or 128 + the signal that killed it (as a shell reports it).
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    done_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
};

// Polls `done` every 5 ms until it holds; false after 60 s.
bool wait_until(const std::function<bool()>& done) {
  for (int i = 0; i < 12000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

bool wait_for_file(const std::string& path) {
  return wait_until([&] { return fs::exists(path); });
}

// Until the file holds `text` (a log line).
bool wait_for_text(const std::string& path, const std::string& text) {
  return wait_until([&] { return read_text(path).find(text) != std::string::npos; });
}

std::vector<std::string> temporaries_in(const std::string& folder) {
  std::vector<std::string> found;
  if (!fs::exists(folder)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos)
      found.push_back(entry.path().string());
  return found;
}

int64_t epochs_completed(const std::string& model) {
  const std::string json = read_text(model + "/model.json");
  const size_t at = json.find("\"epochs_completed\": ");
  return at == std::string::npos ? -1 : std::stoll(json.substr(at + 20));
}

class OperatorFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(run_command(kLti + " synth -o " + dir_.file("data/train.csv") +
                              " --users 60 --rows 3000 --items 300 --categories 10",
                          out),
              0)
        << out;
  }
  std::string train_args(const std::string& model, int epochs) const {
    return "train --data_path " + dir_.file("data") + " --save_dir " + model + " --epochs " +
           std::to_string(epochs) + kTinyModel;
  }
  int eval(const std::string& model, std::string& out) const {
    return run_command(kLti + " eval --data_path " + dir_.file("data") + " --save_dir " + model,
                       out);
  }
  TempDir dir_;
};

}  // namespace

TEST_F(OperatorFaults, SigintAndSigtermAtManyMomentsLeaveAWholeModelThatResumes) {
  const std::string model = dir_.file("model");
  for (int attempt = 0; attempt < 10; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    const int sig = attempt % 2 == 0 ? SIGINT : SIGTERM;
    const bool resume = fs::exists(model + "/model.json");
    Background run(train_args(model, 100000) + (resume ? " --resume" : ""), dir_.file("run.log"));
    if (attempt == 0) {
      // As soon as training starts: often before the first epoch is complete.
      ASSERT_TRUE(wait_for_text(dir_.file("run.log"), "training on"));
    } else {
      // After some epochs, at a moment that varies by a few milliseconds: often mid-save.
      const int64_t before = resume ? epochs_completed(model) : 0;
      ASSERT_TRUE(wait_until([&] { return epochs_completed(model) >= before + 2; }));
      std::this_thread::sleep_for(std::chrono::microseconds(1700 * attempt));
    }
    run.signal(sig);
    const int code = run.wait();
    const std::string log = read_text(dir_.file("run.log"));
    EXPECT_EQ(code, 128 + sig) << log;
    EXPECT_EQ(temporaries_in(model), std::vector<std::string>{}) << log;
    if (!fs::exists(model + "/model.json")) {
      EXPECT_NE(log.find("nothing was saved"), std::string::npos) << log;
      continue;
    }
    EXPECT_NE(log.find(sig == SIGINT ? "SIGINT: stopped in epoch" : "SIGTERM: stopped in epoch"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("--resume"), std::string::npos) << log;
    std::string out;
    EXPECT_EQ(eval(model, out), 0) << out;
  }
  // --resume continues from the last complete epoch.
  const int64_t done = epochs_completed(model);
  ASSERT_GT(done, 0);
  std::string out;
  ASSERT_EQ(
      run_command(kLti + " " + train_args(model, static_cast<int>(done) + 1) + " --resume", out), 0)
      << out;
  EXPECT_EQ(epochs_completed(model), done + 1);
}

TEST_F(OperatorFaults, ASecondSignalStopsAtOnceAndLeavesNoTemporaryFile) {
  const std::string model = dir_.file("model");
  for (int attempt = 0; attempt < 6; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    Background run(train_args(model, 100000) + (attempt > 0 ? " --resume" : ""),
                   dir_.file("run.log"));
    ASSERT_TRUE(wait_for_file(model + "/model.json"));
    std::this_thread::sleep_for(std::chrono::microseconds(2300 * attempt));
    run.signal(SIGINT);
    std::this_thread::sleep_for(std::chrono::microseconds(300 * attempt));
    run.signal(SIGINT);
    EXPECT_EQ(run.wait(), 130) << read_text(dir_.file("run.log"));
    EXPECT_EQ(temporaries_in(model), std::vector<std::string>{});
    std::string out;
    EXPECT_EQ(eval(model, out), 0) << out;
  }
}

TEST_F(OperatorFaults, AfterKillNineTheNextRunRemovesStaleTemporariesAndTheModelIsIntact) {
  const std::string model = dir_.file("model");
  for (int attempt = 0; attempt < 5; ++attempt) {
    Background run(train_args(model, 100000) + (attempt > 0 ? " --resume" : ""),
                   dir_.file("run.log"));
    ASSERT_TRUE(wait_for_file(model + "/model.json"));
    std::this_thread::sleep_for(std::chrono::microseconds(3100 * attempt));
    run.signal(SIGKILL);
    EXPECT_EQ(run.wait(), 128 + SIGKILL);
    std::string out;
    EXPECT_EQ(eval(model, out), 0) << "attempt " << attempt << ": " << out;
  }
  // What a run killed mid-save leaves (kill -9 cannot be caught), for certain.
  write_text(model + "/model.json.tmp.999999", "{");
  write_text(model + "/resume/optimizer.pt.tmp.999998", "x");
  const int64_t done = epochs_completed(model);
  std::string out;
  ASSERT_EQ(
      run_command(kLti + " " + train_args(model, static_cast<int>(done) + 1) + " --resume", out), 0)
      << out;
  EXPECT_NE(out.find("temporary file(s) that an interrupted run left in '" + model + "'"),
            std::string::npos)
      << out;
  EXPECT_EQ(temporaries_in(model), std::vector<std::string>{});
  EXPECT_EQ(epochs_completed(model), done + 1);
}

TEST_F(OperatorFaults, ASecondTrainingIntoTheSameFolderIsRefusedAndEvalReadsWholeEpochs) {
  const std::string model = dir_.file("model");
  Background first(train_args(model, 100000), dir_.file("first.log"));
  ASSERT_TRUE(wait_for_file(model + "/model.json"));

  std::string out;
  const int second = run_command("timeout 60 " + kLti + " " + train_args(model, 1), out);
  EXPECT_EQ(second, 8) << out;
  EXPECT_NE(out.find("'" + model + "' is in use by another lti train (PID " +
                     std::to_string(first.pid()) + ")"),
            std::string::npos)
      << out;

  // Readers take the folder's shared lock: each reads one epoch's files as a set while the
  // first run keeps replacing them.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(eval(model, out), 0) << "eval " << i << ": " << out;

  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(), 143) << read_text(dir_.file("first.log"));
  EXPECT_EQ(eval(model, out), 0) << out;
  EXPECT_EQ(temporaries_in(model), std::vector<std::string>{});
}

TEST_F(OperatorFaults, ResumeAfterTheLastEpochChangesNoFile) {
  const std::string model = dir_.file("model");
  std::string out;
  ASSERT_EQ(run_command(kLti + " " + train_args(model, 2), out), 0) << out;
  const auto before = lti::test::model_folder_files(model);
  ASSERT_EQ(run_command(kLti + " " + train_args(model, 2) + " --resume", out), 0) << out;
  EXPECT_NE(out.find("already trained 2 epoch(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("Ask for more with --epochs"), std::string::npos) << out;
  EXPECT_EQ(out.find("trained 2 epoch(s); kept"), std::string::npos) << out;
  EXPECT_EQ(lti::test::model_folder_files(model), before);
}

TEST_F(OperatorFaults, EveryUnwritableOutputExitsWithSevenAndNamesThePath) {
  write_text(dir_.file("a-file"), "not a folder");
  struct Case {
    std::string save_dir, message;
  };
  for (const Case& c :
       {Case{dir_.file("a-file"), "cannot create the folder '" + dir_.file("a-file") + "'"},
        Case{dir_.file("a-file/model"), dir_.file("a-file/model")}}) {
    std::string out;
    EXPECT_EQ(run_command("timeout 60 " + kLti + " " + train_args(c.save_dir, 1), out), 7) << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << out;
    EXPECT_EQ(out.find("internal error"), std::string::npos) << out;
  }
  std::string out;
  EXPECT_EQ(
      run_command(kLti + " synth -o " + dir_.file("a-file/x.csv") + " --users 5 --rows 50", out), 7)
      << out;
  EXPECT_NE(out.find(dir_.file("a-file")), std::string::npos) << out;

  // A read-only file system (refuses root too): mounted here when the test runs as root.
  if (::geteuid() != 0) return;
  const std::string mount_point = dir_.file("read-only");
  fs::create_directories(mount_point);
  if (run_command("mount -t tmpfs -o ro,size=1m tmpfs " + mount_point, out) != 0)
    LTI_SKIP_OR_FAIL_IN_CI("cannot mount a read-only tmpfs here: " + out);
  EXPECT_EQ(run_command("timeout 60 " + kLti + " " + train_args(mount_point + "/model", 1), out), 7)
      << out;
  EXPECT_NE(out.find(mount_point + "/model"), std::string::npos) << out;
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  run_command("umount " + mount_point, out);
}

TEST_F(OperatorFaults, BlankLinesAreAcceptedUnderStrict) {
  std::string csv = read_text(dir_.file("data/train.csv"));
  const size_t middle = csv.find('\n', csv.size() / 2) + 1;
  csv = csv.substr(0, middle) + "\n  \n" + csv.substr(middle) + "\n\n";
  fs::create_directories(dir_.file("blank"));
  write_text(dir_.file("blank/train.csv"), csv);
  std::string out;
  EXPECT_EQ(run_command(kLti + " inspect --strict --data_path " + dir_.file("blank"), out), 0)
      << out;
  EXPECT_NE(out.find("skipped 0 malformed row(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("rows             3000"), std::string::npos) << out;
}

TEST_F(OperatorFaults, AnInterruptedExportFinishesItsBatchAndWritesNoMetadataKey) {
  const std::string rows = "30000";
  std::string out;
  ASSERT_EQ(run_command(kLti + " synth -o " + dir_.file("many/train.csv") +
                            " --users 1500 --rows " + rows + " --items 2000 --categories 20",
                        out),
            0)
      << out;
  const std::string model = dir_.file("model");
  const std::string data = " --data_path " + dir_.file("many") + " --save_dir " + model;
  ASSERT_EQ(run_command(kLti + " train --epochs 1" + kTinyModel + data, out), 0) << out;

  // The server is paused (SIGSTOP) while the export has batches in flight, the export gets
  // SIGINT, then the server resumes: the export confirms what it sent, and stops.
  lti::test::RedisServer redis;
  const int port = redis.port();
  const pid_t server_pid = [&] {
    std::string info;
    run_command("redis-cli -p " + std::to_string(port) + " info server | grep process_id", info);
    return static_cast<pid_t>(std::stol(info.substr(info.find(':') + 1)));
  }();
  Background exporter(
      "export --threads 1 --write_batch 50 --redis 127.0.0.1:" + std::to_string(port) + data,
      dir_.file("export.log"));
  // The export connects and asks INFO (is it a cluster?) before it reads the data and infers:
  // pause the server once the export logs its read of the data, which comes after the INFO
  // reply. (The CLIENT LIST's last command is not enough: Redis records the command before it
  // flushes the reply, so a pause there can leave the export waiting for INFO forever.)
  ASSERT_TRUE(wait_for_text(dir_.file("export.log"), "read " + rows + " rows"))
      << read_text(dir_.file("export.log"));
  ::kill(server_pid, SIGSTOP);
  const bool writing = wait_for_text(dir_.file("export.log"), "writing to Redis");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // its first batches are sent
  exporter.signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::kill(server_pid, SIGCONT);
  ASSERT_TRUE(writing);
  const int code = exporter.wait();
  const std::string log = read_text(dir_.file("export.log"));
  EXPECT_EQ(code, 130) << log;
  EXPECT_NE(log.find("SIGINT: export stopped after "), std::string::npos) << log;
  EXPECT_NE(log.find("the metadata key lti:meta was not written"), std::string::npos) << log;

  std::string reply;
  run_command("redis-cli -p " + std::to_string(port) + " exists lti:meta", reply);
  EXPECT_EQ(reply, "0\n");
  run_command("redis-cli -p " + std::to_string(port) + " dbsize", reply);
  const int keys = std::stoi(reply);
  EXPECT_GT(keys, 0);
  EXPECT_LT(keys, 1500);
  EXPECT_NE(log.find("after " + std::to_string(keys) + " of 1500 users were written"),
            std::string::npos)
      << "the message must give the users written (" << keys << " in Redis): " << log;
}
