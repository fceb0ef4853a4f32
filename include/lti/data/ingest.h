// The whole data path up to user sequences: CSV -> encoders -> encoded, time-sorted columns.
#pragma once

#include <string>

#include "lti/data/csv_reader.h"
#include "lti/data/dataset.h"

namespace lti {

struct IngestTimings {
  double read_seconds = 0;
  double encode_seconds = 0;  // fitting the encoders
  double sort_seconds = 0;    // encoding rows and sorting them per user and time
};

struct Ingested {
  ReadStats stats;
  Encoders encoders;
  EncodedDataset data;
  IngestTimings timings;
};

// Reads `data_path`, fits the encoders and builds the dataset. Throws InputError when no good
// row is left.
Ingested ingest(const std::string& data_path, const ReadOptions& read_options,
                uint64_t min_item_count);

// Same with encoders that already exist (a trained model's), for export and eval.
Ingested ingest_with_encoders(const std::string& data_path, const ReadOptions& read_options,
                              Encoders encoders);

// Logs the skipped-row counts by reason (nothing is dropped silently).
void log_read_stats(const ReadStats& stats);

}  // namespace lti
