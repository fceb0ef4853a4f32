// Helpers shared by the tests: temporary folders and small files.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lti::test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("lti-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs a shell command; returns its exit status and fills `output` with stdout + stderr.
inline int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Options of a model that trains in milliseconds, for tests that run the `lti` executable
// (--hidden_dim is left to each test).
inline const std::string kTinyModelFlags =
    " --batch_size 16 --item_embedding_dim 8 --cate_embedding_dim 8 --depth 1"
    " --heads 2 --dim_head 8 --n_max 16 --k_max 4 --moe_experts 4 --moe_hidden 16 --threads 1";

// Every file below a model folder (resume/ included) by its path inside it, with its content;
// without the lock files: a run writes its PID into .lock, which is the lock, not the model.
inline std::vector<std::pair<std::string, std::string>> model_folder_files(
    const std::string& folder) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name != ".lock" && name != ".files.lock")
      files.emplace_back(std::filesystem::relative(entry.path(), folder).string(),
                         read_text(entry.path().string()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

// True under CI (CI set, as .ci/run's machine sets CI=true): there every prerequisite of a test
// is installed, so a missing one is a failure, not a reason to skip.
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) != "" && std::string(ci) != "false" &&
         std::string(ci) != "0";
}

}  // namespace lti::test

// Skips the test outside CI; fails it in CI (see in_ci).
#define LTI_SKIP_OR_FAIL_IN_CI(reason)                                           \
  do {                                                                           \
    if (::lti::test::in_ci()) FAIL() << (reason) << " (required under CI=true)"; \
    GTEST_SKIP() << (reason);                                                    \
  } while (0)
