// Ingest benchmark: parse, encode, sort, split and build the features of every user's long
// and short sequence, as training does before the model sees a batch.
//   bench_ingest DATA_PATH [N_MAX] [K_MAX]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "lti/data/batch.h"
#include "lti/data/ingest.h"
#include "lti/data/sequences.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_PATH [N_MAX] [K_MAX]\n", argv[0]);
    return 2;
  }
  const size_t n_max = argc > 2 ? std::stoul(argv[2]) : lti::kDefaultLongMaxLength;
  const size_t k_max = argc > 3 ? std::stoul(argv[3]) : lti::kDefaultShortMaxLength;
  const auto start = std::chrono::steady_clock::now();
  const lti::Ingested in = lti::ingest(argv[1], {}, 1);
  const auto ingested = std::chrono::steady_clock::now();

  // Features for all users, in batches of 256 as training builds them.
  size_t cells = 0;
  std::vector<lti::RowRange> long_parts, short_parts;
  for (size_t u = 0; u < in.data.num_users(); ++u) {
    const lti::UserSplit s = lti::split_user(in.data.user_rows(u));
    if (!s.trainable()) continue;
    long_parts.push_back(s.long_part);
    short_parts.push_back(s.short_part);
    if (long_parts.size() == 256 || u + 1 == in.data.num_users()) {
      cells += lti::make_batch(in.data, long_parts, n_max, lti::kBatchLongest).item.size();
      cells += lti::make_batch(in.data, short_parts, k_max, lti::kBatchLongest).item.size();
      long_parts.clear();
      short_parts.clear();
    }
  }
  const auto done = std::chrono::steady_clock::now();
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double total = secs(start, done);
  std::printf("rows %zu users %zu items %zu\n", in.data.num_rows(), in.data.num_users(),
              in.encoders.item.num_known());
  std::printf(
      "parse %.2f s, fit encoders %.2f s, encode+sort %.2f s, split+features %.2f s "
      "(%zu padded cells)\n",
      in.timings.read_seconds, in.timings.encode_seconds, in.timings.sort_seconds,
      secs(ingested, done), cells);
  std::printf("total %.2f s, %.2f M rows/s, peak RSS %.2f GiB\n", total,
              in.data.num_rows() / total / 1e6, usage.ru_maxrss / 1024.0 / 1024.0);
  return 0;
}
