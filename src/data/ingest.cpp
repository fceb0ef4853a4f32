#include "lti/data/ingest.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "lti/util/errors.h"

namespace lti {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

RawInteractions read_nonempty(const std::string& data_path, const ReadOptions& read_options,
                              Ingested& out) {
  const auto start = std::chrono::steady_clock::now();
  RawInteractions rows = read_interactions(data_path, read_options, out.stats);
  out.timings.read_seconds = seconds_since(start);
  log_read_stats(out.stats);
  if (rows.size() == 0)
    throw InputError("'" + data_path + "' holds no valid row (" +
                     std::to_string(out.stats.rows_skipped) + " skipped)");
  return rows;
}

}  // namespace

void log_read_stats(const ReadStats& stats) {
  spdlog::info("read {} rows from {} file(s), skipped {} malformed row(s)", stats.rows_read,
               stats.files, stats.rows_skipped);
  for (const auto& [reason, count] : stats.skipped_by_reason)
    spdlog::info("  skipped {} row(s): {}", count, reason);
}

Ingested ingest(const std::string& data_path, const ReadOptions& read_options,
                uint64_t min_item_count) {
  Ingested out;
  const RawInteractions rows = read_nonempty(data_path, read_options, out);
  auto start = std::chrono::steady_clock::now();
  out.encoders = Encoders::fit(rows, min_item_count);
  out.timings.encode_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  out.data = EncodedDataset::build(rows, out.encoders);
  out.timings.sort_seconds = seconds_since(start);
  return out;
}

Ingested ingest_with_encoders(const std::string& data_path, const ReadOptions& read_options,
                              Encoders encoders) {
  Ingested out;
  const RawInteractions rows = read_nonempty(data_path, read_options, out);
  out.encoders = std::move(encoders);
  const auto start = std::chrono::steady_clock::now();
  out.data = EncodedDataset::build(rows, out.encoders);
  out.timings.sort_seconds = seconds_since(start);
  return out;
}

}  // namespace lti
