#include "targets.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "lti/data/csv_reader.h"
#include "lti/data/label_encoder.h"
#include "lti/util/errors.h"

namespace lti::fuzz {

namespace {

// The input as a file the readers can open by name, without touching the disk.
class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) : fd_(::memfd_create("lti-fuzz", 0)) {
    if (fd_ < 0) std::abort();
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// Skipped rows are logged as warnings: millions of runs would spend their time printing.
const bool kQuiet = [] {
  spdlog::set_level(spdlog::level::err);
  return true;
}();

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz target broke an invariant: %s\n", what);
  std::abort();
}

}  // namespace

int csv_reader(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ReadOptions options;
  options.strict = data[0] & 1;
  options.parallel_min_bytes = (data[0] & 2) ? 1 : UINT64_MAX;  // the two-thread split too
  options.max_reported = 2;
  const MemoryFile file(data + 1, size - 1);
  ReadStats stats;
  try {
    const RawInteractions rows = read_csv_file(file.path(), options, stats);
    if (rows.size() != stats.rows_read) fail("rows kept != rows_read");
    if (rows.item.size() != rows.size() || rows.category.size() != rows.size() ||
        rows.behavior.size() != rows.size() || rows.time.size() != rows.size())
      fail("columns of different lengths");
    for (uint8_t b : rows.behavior)
      if (b < 1 || b > 4) fail("a behaviour outside 1..4 was kept");
    if (options.strict && stats.rows_skipped != 0) fail("strict mode skipped a row");
  } catch (const InputError&) {
    // A clear refusal (no header, missing column, --strict row): the documented outcome.
  }
  return 0;
}

int encoder_file(const uint8_t* data, size_t size) {
  const MemoryFile file(data, size);
  try {
    const LabelEncoder encoder = LabelEncoder::load(file.path());
    // Every known raw id maps back to its own index.
    for (uint32_t index = 2; index < encoder.table_size(); ++index)
      if (encoder.encode(encoder.decode(index)) != index) fail("encode(decode(i)) != i");
  } catch (const ModelError&) {
  }
  return 0;
}

}  // namespace lti::fuzz
