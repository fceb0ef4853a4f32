#include <gtest/gtest.h>

#include <filesystem>

#include "lti/data/csv_reader.h"
#include "lti/util/errors.h"
#include "test_util.h"

using namespace lti;
using lti::test::TempDir;
using lti::test::write_text;

namespace {

const char* kHeader = "user_id,item_id,behavior_type,user_geohash,item_category,time\n";

RawInteractions read(const std::string& path, ReadStats& stats, bool strict = false) {
  ReadOptions options;
  options.strict = strict;
  options.max_reported = 100;
  return read_interactions(path, options, stats);
}

}  // namespace

TEST(CsvReader, ReadsEmptyGeohashAndAllColumns) {
  TempDir dir;
  write_text(dir.file("a.csv"), std::string(kHeader) +
                                    "10001082,285259775,1,97lk14c,4076,2014-12-08 18\n"
                                    "10001082,4368907,4,,5503,2014-12-12 12\n");
  ReadStats stats;
  const auto rows = read(dir.file("a.csv"), stats);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.user[0], 10001082u);
  EXPECT_EQ(rows.item[1], 4368907u);
  EXPECT_EQ(rows.behavior[1], 4);
  EXPECT_EQ(rows.category[0], 4076u);
  EXPECT_EQ(format_hour(rows.time[1]), "2014-12-12 12");
  EXPECT_EQ(stats.rows_skipped, 0u);
  EXPECT_EQ(stats.files, 1u);
}

TEST(CsvReader, HandlesCrlfReorderedAndExtraColumnsWithoutFinalNewline) {
  TempDir dir;
  write_text(dir.file("b.csv"),
             "time,extra,item_category,behavior_type,item_id,user_geohash,user_id\r\n"
             "2014-11-18 00,x,7,2,99,,5\r\n"
             "2014-11-19 23,y,8,3,98,abc,6");  // no final newline
  ReadStats stats;
  const auto rows = read(dir.file("b.csv"), stats);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.user[1], 6u);
  EXPECT_EQ(rows.item[0], 99u);
  EXPECT_EQ(rows.category[1], 8u);
  EXPECT_EQ(rows.behavior[0], 2);
  EXPECT_EQ(format_hour(rows.time[1]), "2014-11-19 23");
}

TEST(CsvReader, FilesWithoutFinalNewlineOfManySizesSurvive) {
  // Lines of every length around fccp's block boundaries must not crash the reader.
  TempDir dir;
  for (int extra = 0; extra < 40; ++extra) {
    std::string text = kHeader;
    for (int i = 0; i < 50 + extra; ++i)
      text += "1,2,1," + std::string(extra % 7, 'g') + ",3,2014-11-18 0" + std::to_string(i % 10) +
              "\n";
    text += "1,2,1,,3,2014-11-18 05";
    write_text(dir.file("c.csv"), text);
    ReadStats stats;
    EXPECT_EQ(read(dir.file("c.csv"), stats).size(), static_cast<size_t>(51 + extra));
  }
}

TEST(CsvReader, SkipsAndCountsBadRowsWithLineNumbers) {
  TempDir dir;
  write_text(dir.file("bad.csv"), std::string(kHeader) +
                                      "1,2,1,,3,2014-11-18 00\n"   // line 2 ok
                                      ",2,1,,3,2014-11-18 00\n"    // 3 empty user
                                      "1,x2,1,,3,2014-11-18 00\n"  // 4 item not integer
                                      "1,2,5,,3,2014-11-18 00\n"   // 5 behaviour 5
                                      "1,2,0,,3,2014-11-18 00\n"   // 6 behaviour 0
                                      "1,2,1,,3,2014-11-18 24\n"   // 7 bad hour
                                      "1,2,1,,3\n"                 // 8 too few columns
                                      "1,2,1,,-3,2014-11-18 00\n"  // 9 negative category
                                      "99999999999999999999,2,1,,3,2014-11-18 00\n"  // 10 > 64 bits
                                      "1,2,1,,,2014-11-18 00\n"     // 11 empty category
                                      "7,8,4,,9,2014-12-18 23\n");  // 12 ok
  ReadStats stats;
  const auto rows = read(dir.file("bad.csv"), stats);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.user[1], 7u);
  EXPECT_EQ(stats.rows_read, 2u);
  EXPECT_EQ(stats.rows_skipped, 9u);
  ASSERT_EQ(stats.first_problems.size(), 9u);
  const std::vector<std::pair<uint64_t, std::string>> expected = {
      {3, "user_id"}, {4, "item_id"},       {5, "behavior_type"}, {6, "behavior_type"}, {7, "time"},
      {8, "row"},     {9, "item_category"}, {10, "user_id"},      {11, "item_category"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(stats.first_problems[i].line, expected[i].first) << i;
    EXPECT_EQ(stats.first_problems[i].field, expected[i].second) << i;
    EXPECT_EQ(stats.first_problems[i].file, dir.file("bad.csv"));
  }
  EXPECT_EQ(stats.first_problems[0].reason, "empty");
  EXPECT_NE(stats.first_problems[7].reason.find("64 bits"), std::string::npos);
  EXPECT_EQ(stats.skipped_by_reason.at("behavior_type: not in 1..4"), 2u);
}

TEST(CsvReader, EmptyIdFieldIsABadRowNotZero) {
  TempDir dir;
  write_text(dir.file("e.csv"), std::string(kHeader) + "5,,1,,3,2014-11-18 00\n");
  ReadStats stats;
  EXPECT_EQ(read(dir.file("e.csv"), stats).size(), 0u);
  ASSERT_EQ(stats.first_problems.size(), 1u);
  EXPECT_EQ(stats.first_problems[0].field, "item_id");
  EXPECT_EQ(stats.first_problems[0].reason, "empty");
}

TEST(CsvReader, StrictMakesTheFirstBadRowFatal) {
  TempDir dir;
  write_text(dir.file("s.csv"),
             std::string(kHeader) + "1,2,1,,3,2014-11-18 00\n1,2,9,,3,2014-11-18 00\n");
  ReadStats stats;
  try {
    read(dir.file("s.csv"), stats, /*strict=*/true);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("s.csv:3: behavior_type"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), kExitInput);
  }
}

TEST(CsvReader, BlankLinesAreSkippedNotMalformedEvenUnderStrict) {
  TempDir dir;
  write_text(dir.file("b.csv"), std::string(kHeader) +
                                    "1,2,1,,3,2014-11-18 00\n"
                                    "\n"
                                    "  \t\n"
                                    "1,4,2,,3,2014-11-18 01\n"
                                    "\r\n"
                                    "1,5,1,,3,2014-11-18 02\n"
                                    "\n\n");
  ReadStats stats;
  EXPECT_EQ(read(dir.file("b.csv"), stats, /*strict=*/true).size(), 3u);
  EXPECT_EQ(stats.rows_skipped, 0u);
  ReadStats lenient;
  EXPECT_EQ(read(dir.file("b.csv"), lenient).size(), 3u);
  EXPECT_EQ(lenient.rows_skipped, 0u);

  // Blank lines still count as lines: a bad row after them is named by its real line number.
  write_text(dir.file("c.csv"), std::string(kHeader) + "\n\n1,2,9,,3,2014-11-18 00\n");
  try {
    read(dir.file("c.csv"), stats, /*strict=*/true);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("c.csv:4: behavior_type"), std::string::npos) << e.what();
  }
}

TEST(CsvReader, ClearErrorsForMissingPathEmptyFileMissingColumnAndEmptyFolder) {
  TempDir dir;
  ReadStats stats;
  auto message_of = [&](const std::string& path) {
    try {
      read(path, stats);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of(dir.file("nope.csv")).find("does not exist"), std::string::npos);
  write_text(dir.file("empty.csv"), "");
  EXPECT_NE(message_of(dir.file("empty.csv")).find("is empty (expected header: user_id,item_id"),
            std::string::npos);
  write_text(dir.file("nocol.csv"), "user_id,item_id,behavior_type,item_category\n1,2,3,4\n");
  const auto missing = message_of(dir.file("nocol.csv"));
  EXPECT_NE(missing.find("lacks column 'time'"), std::string::npos) << missing;
  EXPECT_NE(missing.find("expected header"), std::string::npos);
  write_text(dir.file("dup.csv"), "user_id,item_id,behavior_type,item_category,time,time\n");
  EXPECT_NE(message_of(dir.file("dup.csv")).find("repeats column 'time'"), std::string::npos);
  std::filesystem::create_directories(dir.file("folder"));
  write_text(dir.file("folder/readme.txt"), "not a csv");
  EXPECT_NE(message_of(dir.file("folder")).find("contains no *.csv file"), std::string::npos);
}

TEST(CsvReader, FolderReadsCsvFilesInNameOrder) {
  TempDir dir;
  write_text(dir.file("b.csv"), std::string(kHeader) + "2,2,1,,3,2014-11-18 00\n");
  write_text(dir.file("a.csv"), std::string(kHeader) + "1,2,1,,3,2014-11-18 00\n");
  write_text(dir.file("c.txt"), "ignored");
  ReadStats stats;
  const auto rows = read(dir.str(), stats);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.user[0], 1u);
  EXPECT_EQ(rows.user[1], 2u);
  EXPECT_EQ(stats.files, 2u);
}

TEST(CsvReader, RealTianchiSampleReads1999RowsOf34Users) {
  if (!std::filesystem::exists(LTI_SAMPLE_CSV))
    LTI_SKIP_OR_FAIL_IN_CI(std::string("the real sample is absent: ") + LTI_SAMPLE_CSV);
  ReadStats stats;
  const auto rows = read(LTI_SAMPLE_CSV, stats);
  EXPECT_EQ(rows.size(), 1999u);
  EXPECT_EQ(stats.rows_skipped, 0u);
  std::vector<uint64_t> users = rows.user;
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  EXPECT_EQ(users.size(), 34u);
}

TEST(CsvReader, TwoThreadParseMatchesOneThreadAndNumbersLinesOfTheSecondHalf) {
  TempDir dir;
  std::string text = "user_id,item_id,behavior_type,user_geohash,item_category,time\r\n";
  for (int i = 0; i < 3000; ++i) {
    if (i == 2500) text += "1,2,9,,3,2014-11-18 00\r\n";  // line 2502: in the second half
    text += std::to_string(i % 97) + "," + std::to_string(i) + ",1,,3,2014-11-18 0" +
            std::to_string(i % 10) + "\r\n";
  }
  text += "5,6,1,,3,2014-11-18 00";  // no final newline
  write_text(dir.file("p.csv"), text);
  ReadOptions one, two;
  two.parallel_min_bytes = 1;  // force the split
  ReadStats stats_one, stats_two;
  const auto a = read_csv_file(dir.file("p.csv"), one, stats_one);
  const auto b = read_csv_file(dir.file("p.csv"), two, stats_two);
  ASSERT_EQ(a.size(), 3001u);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.item, b.item);
  EXPECT_EQ(a.time, b.time);
  ASSERT_EQ(stats_two.first_problems.size(), 1u);
  EXPECT_EQ(stats_two.first_problems[0].line, 2502u);
  EXPECT_EQ(stats_one.first_problems[0].line, 2502u);
  EXPECT_EQ(stats_two.rows_read, 3001u);
}
