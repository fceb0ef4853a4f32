// Replays every input kept in tests/fuzz/<target>/ (seed corpus and every input that once made a
// fuzz target fail) through the same target functions the fuzzers run (fuzz/targets.h). In the
// sanitizer build this is also an AddressSanitizer/UBSan check of each of them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../fuzz/targets.h"

namespace fs = std::filesystem;

namespace {

size_t replay(const std::string& target, int (*run)(const uint8_t*, size_t)) {
  size_t inputs = 0;
  for (const auto& entry :
       fs::directory_iterator(std::string(LTI_SOURCE_DIR) + "/tests/fuzz/" + target)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    ++inputs;
  }
  return inputs;
}

}  // namespace

TEST(FuzzRegressions, CsvReaderInputs) {
  EXPECT_GE(replay("csv_reader", lti::fuzz::csv_reader), 3u);
}

TEST(FuzzRegressions, EncoderFileInputs) {
  EXPECT_GE(replay("encoder_file", lti::fuzz::encoder_file), 2u);
}
