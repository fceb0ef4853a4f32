#include "lti/data/csv_reader.h"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
// Each parser thread reads its own byte range; fccp's extra read-ahead thread per parser
// would only compete with them for the two cores.
#define CSV_IO_NO_THREAD
#include <libfccp/csv.h>
#include <memory>
#include <string_view>

#include "lti/util/errors.h"

namespace fs = std::filesystem;

namespace lti {

const char* const kExpectedHeader = "user_id,item_id,behavior_type,user_geohash,item_category,time";

void RawInteractions::reserve(size_t n) {
  user.reserve(n);
  item.reserve(n);
  category.reserve(n);
  behavior.reserve(n);
  time.reserve(n);
}

void RawInteractions::append(const RawInteractions& o) {
  user.insert(user.end(), o.user.begin(), o.user.end());
  item.insert(item.end(), o.item.begin(), o.item.end());
  category.insert(category.end(), o.category.begin(), o.category.end());
  behavior.insert(behavior.end(), o.behavior.begin(), o.behavior.end());
  time.insert(time.end(), o.time.begin(), o.time.end());
}

std::string RowProblem::to_string() const {
  return file + ":" + std::to_string(line) + ": " + field + ": " + reason;
}

std::vector<std::string> list_csv_files(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw InputError("data path '" + path + "' does not exist");
  if (fs::is_regular_file(status)) return {path};
  if (!fs::is_directory(status))
    throw InputError("data path '" + path + "' is neither a file nor a folder");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.path().extension() == ".csv" && entry.is_regular_file()) {
      files.push_back(entry.path().string());
    }
  }
  if (ec) throw InputError("cannot list folder '" + path + "': " + ec.message());
  if (files.empty()) {
    throw InputError("folder '" + path + "' contains no *.csv file (expected the Tianchi file " +
                     "tianchi_mobile_recommend_train_user.csv or files with header " +
                     kExpectedHeader + ")");
  }
  std::sort(files.begin(), files.end());
  return files;
}

namespace {

// Feeds fast-cpp-csv-parser a byte range of a file, optionally after a prefix (the header line,
// for a reader that starts in the middle of the file), and adds the final newline when the
// range lacks one. Debian's libfccp predates upstream's fix for a crash on some files without
// a final newline; handing it a terminated last line avoids that code path entirely.
class FileRangeSource : public io::ByteSourceBase {
 public:
  FileRangeSource(FILE* file, uint64_t begin, uint64_t end, std::string prefix)
      : file_(file), offset_(begin), end_(end), prefix_(std::move(prefix)) {}
  ~FileRangeSource() override { std::fclose(file_); }

  // fccp takes a short read for the end of the data, so every read fills `size` bytes
  // unless the range is exhausted.
  int read(char* buffer, int size) override {
    int filled = 0;
    while (filled < size) {
      const int n = read_some(buffer + filled, size - filled);
      if (n == 0) break;
      filled += n;
    }
    return filled;
  }

 private:
  int read_some(char* buffer, int size) {
    if (prefix_pos_ < prefix_.size()) {
      const size_t n = std::min(prefix_.size() - prefix_pos_, static_cast<size_t>(size));
      std::memcpy(buffer, prefix_.data() + prefix_pos_, n);
      prefix_pos_ += n;
      return static_cast<int>(n);
    }
    if (offset_ < end_) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(end_ - offset_, size));
      const ssize_t n = ::pread(fileno(file_), buffer, want, static_cast<off_t>(offset_));
      if (n < 0) throw std::runtime_error(std::strerror(errno));
      if (n > 0) {
        offset_ += static_cast<uint64_t>(n);
        last_byte_ = buffer[n - 1];
        any_bytes_ = true;
        return static_cast<int>(n);
      }
      end_ = offset_;  // the file shrank under us
    }
    if (any_bytes_ && last_byte_ != '\n') {
      last_byte_ = '\n';
      buffer[0] = '\n';
      return 1;
    }
    return 0;
  }

  FILE* file_;
  uint64_t offset_;
  uint64_t end_;
  std::string prefix_;
  size_t prefix_pos_ = 0;
  bool any_bytes_ = false;
  char last_byte_ = '\0';
};

enum class ParseIdResult { kOk, kEmpty, kNotInteger, kTooLarge };

ParseIdResult parse_id(const char* text, uint64_t& out) {
  if (text == nullptr || *text == '\0') return ParseIdResult::kEmpty;
  const char* end = text + std::strlen(text);
  if (*text == '+' || *text == '-') return ParseIdResult::kNotInteger;
  auto [ptr, ec] = std::from_chars(text, end, out);
  if (ec == std::errc::result_out_of_range) return ParseIdResult::kTooLarge;
  if (ec != std::errc() || ptr != end) return ParseIdResult::kNotInteger;
  return ParseIdResult::kOk;
}

using Reader =
    io::CSVReader<5, io::trim_chars<' ', '\t'>, io::double_quote_escape<',', '"'>,
                  io::throw_on_overflow, io::empty_line_comment>;  // blank lines are skipped

class FileParser {
 public:
  // Parses bytes [begin, end) of `file`; a reader that starts mid-file is handed the header
  // line first. Problems are numbered in lines of that range (the header is line 1).
  FileParser(const std::string& file, const ReadOptions& options, ReadStats& stats)
      : file_(file), options_(options), stats_(stats) {}

  RawInteractions parse(uint64_t begin, uint64_t end, const std::string& header_prefix) {
    FILE* handle = std::fopen(file_.c_str(), "rb");
    if (!handle) throw InputError("cannot open '" + file_ + "': " + std::strerror(errno));
    Reader reader(file_, std::make_unique<FileRangeSource>(handle, begin, end, header_prefix));
    read_header(reader);

    RawInteractions rows;
    rows.reserve((end - begin) / 40 + 16);
    char *user = nullptr, *item = nullptr, *behavior = nullptr, *category = nullptr,
         *time = nullptr;
    for (;;) {
      try {
        if (!reader.read_row(user, item, behavior, category, time)) break;
      } catch (const io::error::base& e) {
        // A line with the wrong number of columns or a broken quote: the reader has
        // consumed it, so the next read_row continues with the following line.
        skip(reader.get_file_line(), "row", row_error_reason(e));
        continue;
      }
      add_row(reader.get_file_line(), user, item, behavior, category, time, rows);
    }
    lines_ = reader.get_file_line();
    return rows;
  }

  uint64_t lines() const { return lines_; }

 private:
  void read_header(Reader& reader) {
    try {
      reader.read_header(io::ignore_extra_column, "user_id", "item_id", "behavior_type",
                         "item_category", "time");
    } catch (const io::error::header_missing&) {
      throw InputError("'" + file_ + "' is empty (expected header: " + kExpectedHeader + ")");
    } catch (const io::error::missing_column_in_header& e) {
      throw InputError("'" + file_ + "':1: header lacks column '" + e.column_name +
                       "' (expected header: " + kExpectedHeader + ")");
    } catch (const io::error::duplicated_column_in_header& e) {
      throw InputError("'" + file_ + "':1: header repeats column '" + e.column_name +
                       "' (expected header: " + kExpectedHeader + ")");
    } catch (const io::error::base& e) {
      throw InputError("'" + file_ + "':1: unreadable header (" + e.what() +
                       "); expected header: " + kExpectedHeader);
    }
  }

  static std::string row_error_reason(const io::error::base& e) {
    if (dynamic_cast<const io::error::too_few_columns*>(&e)) return "too few columns";
    if (dynamic_cast<const io::error::too_many_columns*>(&e)) return "too many columns";
    if (dynamic_cast<const io::error::escaped_string_not_closed*>(&e)) return "unclosed quote";
    if (dynamic_cast<const io::error::line_length_limit_exceeded*>(&e))
      return "line longer than 16 MiB";
    return "unparsable line";
  }

  bool parse_id_field(uint64_t line, const char* name, const char* text, uint64_t& out) {
    switch (parse_id(text, out)) {
      case ParseIdResult::kOk:
        return true;
      case ParseIdResult::kEmpty:
        skip(line, name, "empty");
        return false;
      case ParseIdResult::kNotInteger:
        skip(line, name, "not a non-negative integer: '" + shorten(text) + "'");
        return false;
      case ParseIdResult::kTooLarge:
        skip(line, name, "does not fit in 64 bits: '" + shorten(text) + "'");
        return false;
    }
    return false;
  }

  void add_row(uint64_t line, const char* user, const char* item, const char* behavior,
               const char* category, const char* time, RawInteractions& rows) {
    uint64_t user_id, item_id, category_id;
    if (!parse_id_field(line, "user_id", user, user_id)) return;
    if (!parse_id_field(line, "item_id", item, item_id)) return;
    if (behavior == nullptr || behavior[0] < '1' || behavior[0] > '4' || behavior[1] != '\0') {
      skip(line, "behavior_type", "not in 1..4: '" + shorten(behavior) + "'");
      return;
    }
    if (!parse_id_field(line, "item_category", category, category_id)) return;
    const auto hour = parse_hour(time ? std::string_view(time) : std::string_view());
    if (!hour) {
      skip(line, "time", "not a valid 'YYYY-MM-DD HH': '" + shorten(time) + "'");
      return;
    }
    rows.user.push_back(user_id);
    rows.item.push_back(item_id);
    rows.category.push_back(category_id);
    rows.behavior.push_back(static_cast<uint8_t>(behavior[0] - '0'));
    rows.time.push_back(*hour);
    ++stats_.rows_read;
  }

  static std::string shorten(const char* text) {
    if (!text) return "";
    std::string s(text, strnlen(text, 41));
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    return s;
  }

  void skip(uint64_t line, const std::string& field, const std::string& reason) {
    RowProblem problem{file_, line, field, reason};
    if (options_.strict) throw InputError(problem.to_string() + " (--strict)");
    ++stats_.rows_skipped;
    // Count by field and kind of problem; the quoted value is left out of the key.
    ++stats_.skipped_by_reason[field + ": " + reason.substr(0, reason.find(':'))];
    if (stats_.first_problems.size() < options_.max_reported)
      stats_.first_problems.push_back(std::move(problem));
  }

  const std::string& file_;
  uint64_t lines_ = 0;
  const ReadOptions& options_;
  ReadStats& stats_;
};

}  // namespace

namespace {

std::string first_line_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::string line;
  std::getline(in, line);
  return line + "\n";
}

// The offset just past the first newline at or after `from` (or `size`).
uint64_t next_line_start(const std::string& file, uint64_t from, uint64_t size) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::string rest;
  std::getline(in, rest);
  return std::min(size, from + rest.size() + (in.eof() ? 0 : 1));
}

void merge_stats(ReadStats& into, const ReadStats& from, uint64_t line_offset,
                 size_t max_reported) {
  into.rows_read += from.rows_read;
  into.rows_skipped += from.rows_skipped;
  for (const auto& [reason, count] : from.skipped_by_reason)
    into.skipped_by_reason[reason] += count;
  for (RowProblem p : from.first_problems) {
    if (into.first_problems.size() >= max_reported) break;
    p.line += line_offset;
    into.first_problems.push_back(std::move(p));
  }
}

RawInteractions parse_file(const std::string& file, const ReadOptions& options, ReadStats& stats) {
  std::error_code ec;
  const uint64_t size = fs::file_size(file, ec);
  if (ec) throw InputError("cannot read '" + file + "': " + ec.message());
  if (size == 0)
    throw InputError("'" + file + "' is empty (expected header: " + kExpectedHeader + ")");
  ReadStats first_stats;
  FileParser first(file, options, first_stats);
  // --strict must stop at the first bad row in file order: one thread.
  if (options.strict || size < options.parallel_min_bytes) {
    RawInteractions rows = first.parse(0, size, "");
    merge_stats(stats, first_stats, 0, options.max_reported);
    return rows;
  }
  const std::string header = first_line_of(file);
  const uint64_t cut = next_line_start(file, size / 2, size);
  ReadStats second_stats;
  FileParser second(file, options, second_stats);
  RawInteractions tail;
  std::exception_ptr tail_error;
  std::thread worker([&] {
    try {
      if (cut < size) tail = second.parse(cut, size, header);
    } catch (...) {
      tail_error = std::current_exception();
    }
  });
  RawInteractions rows;
  try {
    rows = first.parse(0, cut, "");
  } catch (...) {
    worker.join();
    throw;
  }
  worker.join();
  if (tail_error) std::rethrow_exception(tail_error);
  // The second reader's line 1 is the repeated header; its line k is file line first + k - 1.
  merge_stats(stats, first_stats, 0, options.max_reported);
  merge_stats(stats, second_stats, first.lines() - 1, options.max_reported);
  rows.append(tail);
  return rows;
}

}  // namespace

RawInteractions read_csv_file(const std::string& file, const ReadOptions& options,
                              ReadStats& stats) {
  const size_t reported_before = stats.first_problems.size();
  RawInteractions rows;
  try {
    rows = parse_file(file, options, stats);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError("cannot read '" + file + "': " + e.what());
  }
  for (size_t i = reported_before; i < stats.first_problems.size(); ++i)
    spdlog::warn("skipping row {}", stats.first_problems[i].to_string());
  ++stats.files;
  return rows;
}

RawInteractions read_interactions(const std::string& path, const ReadOptions& options,
                                  ReadStats& stats) {
  const auto files = list_csv_files(path);
  if (files.size() == 1) return read_csv_file(files[0], options, stats);
  RawInteractions all;
  for (const auto& file : files) all.append(read_csv_file(file, options, stats));
  return all;
}

}  // namespace lti
