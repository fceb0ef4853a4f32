// Reading Tianchi behaviour logs: a CSV file, or a folder of *.csv files, into raw columns.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lti/util/time_util.h"

namespace lti {

// The header of the Tianchi file. Columns are found by name; user_geohash is optional
// because the model does not use it, and extra columns are ignored.
extern const char* const kExpectedHeader;

// One column per field, one entry per good row, in file order.
struct RawInteractions {
  std::vector<uint64_t> user;
  std::vector<uint64_t> item;
  std::vector<uint64_t> category;
  std::vector<uint8_t> behavior;  // 1 browse, 2 collect, 3 cart, 4 buy
  std::vector<UnixHour> time;

  size_t size() const { return user.size(); }
  void reserve(size_t n);
  void append(const RawInteractions& other);
};

// A row that was skipped, and why.
struct RowProblem {
  std::string file;
  uint64_t line = 0;  // 1-based, the header is line 1
  std::string field;  // column name, or "row" for problems with the whole line
  std::string reason;
  std::string to_string() const;  // "file:line: field: reason"
};

struct ReadStats {
  size_t files = 0;
  uint64_t rows_read = 0;     // good rows kept
  uint64_t rows_skipped = 0;  // malformed rows dropped
  std::map<std::string, uint64_t> skipped_by_reason;
  std::vector<RowProblem> first_problems;  // the first few, for the user
};

struct ReadOptions {
  bool strict = false;      // the first malformed row is an InputError
  size_t max_reported = 5;  // how many problems are logged and kept in ReadStats
  // Files at least this large are parsed by two threads, each over half of the file.
  uint64_t parallel_min_bytes = 64ull << 20;
};

// The CSV files behind a --data_path: the file itself, or every *.csv of a folder in name order.
// Throws InputError for a missing path or a folder without CSV files.
std::vector<std::string> list_csv_files(const std::string& path);

// Reads every file of list_csv_files(path). Throws InputError for a file that cannot be opened,
// is empty, or lacks a required column; malformed rows are skipped and counted in `stats`.
RawInteractions read_interactions(const std::string& path, const ReadOptions& options,
                                  ReadStats& stats);

// One file only.
RawInteractions read_csv_file(const std::string& file, const ReadOptions& options,
                              ReadStats& stats);

}  // namespace lti
