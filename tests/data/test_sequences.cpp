#include <gtest/gtest.h>

#include "lti/data/batch.h"
#include "lti/data/sequences.h"

using namespace lti;

namespace {

// One user per entry of `times`, rows given as "YYYY-MM-DD HH" in file order.
EncodedDataset dataset_of(const std::vector<std::vector<std::string>>& times) {
  RawInteractions rows;
  for (size_t u = 0; u < times.size(); ++u) {
    for (size_t i = 0; i < times[u].size(); ++i) {
      rows.user.push_back(100 + u);
      rows.item.push_back(1000 + i);
      rows.category.push_back(i % 3);
      rows.behavior.push_back(static_cast<uint8_t>(1 + i % 4));
      rows.time.push_back(*parse_hour(times[u][i]));
    }
  }
  return EncodedDataset::build(rows, Encoders::fit(rows, 1));
}

}  // namespace

TEST(Sequences, SplitSizes) {
  const std::vector<std::pair<size_t, size_t>> cases = {{1, 0},  {2, 1},  {9, 8},
                                                        {10, 9}, {11, 9}, {1000, 900}};
  for (auto [n, long_n] : cases) {
    const UserSplit s = split_user({5, 5 + n});
    EXPECT_EQ(s.long_part.size(), long_n) << n;
    EXPECT_EQ(s.short_part.size(), n - long_n) << n;
    EXPECT_EQ(s.long_part.end, s.short_part.begin);
    EXPECT_EQ(s.trainable(), n >= 2) << n;
  }
}

TEST(Sequences, StableTimeSortPerUser) {
  RawInteractions rows;
  auto add = [&](uint64_t user, uint64_t item, const char* t) {
    rows.user.push_back(user);
    rows.item.push_back(item);
    rows.category.push_back(1);
    rows.behavior.push_back(1);
    rows.time.push_back(*parse_hour(t));
  };
  add(9, 1, "2014-11-20 05");
  add(3, 2, "2014-11-19 00");
  add(9, 3, "2014-11-18 07");
  add(9, 4, "2014-11-20 05");  // same hour as item 1: stays after it
  add(9, 5, "2014-11-18 07");  // same hour as item 3: stays after it
  const Encoders enc = Encoders::fit(rows, 1);
  const EncodedDataset ds = EncodedDataset::build(rows, enc);
  ASSERT_EQ(ds.num_users(), 2u);
  EXPECT_EQ(ds.user_raw_id[0], 3u);
  EXPECT_EQ(ds.user_raw_id[1], 9u);
  const RowRange r = ds.user_rows(1);
  ASSERT_EQ(r.size(), 4u);
  std::vector<uint64_t> items;
  for (uint64_t i = r.begin; i < r.end; ++i) items.push_back(enc.item.decode(ds.item[i]));
  EXPECT_EQ(items, (std::vector<uint64_t>{3, 5, 1, 4}));
}

TEST(Sequences, UsersUnknownToTheEncoderStillGetSequences) {
  RawInteractions rows;
  for (uint64_t u : {5, 1, 5, 8}) {
    rows.user.push_back(u);
    rows.item.push_back(1);
    rows.category.push_back(1);
    rows.behavior.push_back(1);
    rows.time.push_back(0);
  }
  Encoders enc;
  enc.user.fit({5});
  enc.item.fit({1});
  enc.category.fit({1});
  const EncodedDataset ds = EncodedDataset::build(rows, enc);
  ASSERT_EQ(ds.num_users(), 3u);
  EXPECT_EQ(ds.user_raw_id, (std::vector<uint64_t>{5, 1, 8}));
  EXPECT_EQ(ds.user_rows(0).size(), 2u);
}

TEST(Batch, FeaturesOfOneInteraction) {
  const UnixHour tue = *parse_hour("2014-11-18 00");
  EXPECT_EQ(weekday_feature(tue), 2);
  EXPECT_EQ(hour_feature(tue), 1);
  EXPECT_EQ(hour_feature(*parse_hour("2014-11-18 23")), 24);
  EXPECT_EQ(weekend_feature(tue), 1);
  EXPECT_EQ(weekend_feature(*parse_hour("2014-11-22 10")), 2);  // Saturday
  EXPECT_EQ(weekend_feature(*parse_hour("2014-11-23 10")), 2);  // Sunday
  EXPECT_EQ(weekend_feature(*parse_hour("2014-11-24 10")), 1);  // Monday
}

TEST(Batch, LeftPaddingLowerBoundPositionsAndRelativeTime) {
  const EncodedDataset ds =
      dataset_of({{"2014-11-18 00", "2014-11-18 02", "2014-11-18 04"}, {"2014-11-22 10"}});
  const SequenceBatch b = make_batch(ds, {ds.user_rows(0), ds.user_rows(1)}, 256, 10);
  ASSERT_EQ(b.batch, 2);
  ASSERT_EQ(b.length, 10);  // max(K_MIN-like lower bound 10, longest 3)
  // User 0: 7 padding cells, then the three interactions, most recent last.
  for (int t = 0; t < 7; ++t) {
    EXPECT_TRUE(b.is_padding(0, t));
    EXPECT_EQ(b.item[t], 0);
    EXPECT_EQ(b.weekday[t], 0);
    EXPECT_EQ(b.continuous[t * 2], 0.0f);
  }
  EXPECT_EQ(b.position[7], 3);
  EXPECT_EQ(b.position[8], 2);
  EXPECT_EQ(b.position[9], 1);
  EXPECT_EQ(b.hour[9], 5);     // 04 h -> 5
  EXPECT_EQ(b.weekday[9], 2);  // Tuesday
  EXPECT_EQ(b.weekend[9], 1);
  EXPECT_EQ(b.behavior[9], 3);
  EXPECT_FLOAT_EQ(b.continuous[7 * 2], 0.0f);
  EXPECT_FLOAT_EQ(b.continuous[7 * 2 + 1], 1.0f);
  EXPECT_FLOAT_EQ(b.continuous[8 * 2], 0.5f);
  EXPECT_FLOAT_EQ(b.continuous[8 * 2 + 1], 0.5f);
  EXPECT_FLOAT_EQ(b.continuous[9 * 2], 1.0f);
  EXPECT_FLOAT_EQ(b.continuous[9 * 2 + 1], 0.0f);
  // User 1: one interaction; span floors at one hour, so both features are 0.
  EXPECT_EQ(b.position[10 + 9], 1);
  EXPECT_EQ(b.weekend[10 + 9], 2);
  EXPECT_FLOAT_EQ(b.continuous[(10 + 9) * 2], 0.0f);
  EXPECT_FLOAT_EQ(b.continuous[(10 + 9) * 2 + 1], 0.0f);
}

TEST(Batch, TruncationKeepsTheMostRecentAndRelativeTimeUsesTheKeptPart) {
  std::vector<std::string> times;
  for (int h = 0; h < 20; ++h)
    times.push_back("2014-11-18 " + std::string(h < 10 ? "0" : "") + std::to_string(h));
  const EncodedDataset ds = dataset_of({times});
  const SequenceBatch b = make_batch(ds, {ds.user_rows(0)}, /*max_len=*/5, /*min_len=*/2);
  ASSERT_EQ(b.length, 5);
  EXPECT_EQ(b.hour[0], 16);  // hour 15 is the oldest kept
  EXPECT_EQ(b.hour[4], 20);
  EXPECT_EQ(b.position[0], 5);
  EXPECT_FLOAT_EQ(b.continuous[0], 0.0f);
  EXPECT_FLOAT_EQ(b.continuous[1], 1.0f);
  EXPECT_FLOAT_EQ(b.continuous[2 * 2], 0.5f);
}

TEST(Batch, PaddedLengthIsLongestWhenAboveTheLowerBound) {
  std::vector<std::string> times(12, "2014-11-18 03");
  const EncodedDataset ds = dataset_of({times, {"2014-11-18 01"}});
  const SequenceBatch b = make_batch(ds, {ds.user_rows(0), ds.user_rows(1)}, 64, 10);
  EXPECT_EQ(b.length, 12);
  EXPECT_EQ(b.position[0], 12);
  EXPECT_TRUE(b.is_padding(1, 10));
  EXPECT_FALSE(b.is_padding(1, 11));
}

// A moved sequence: the calendar features are those of each row's time plus the sequence's own
// offset; the relative-time features, the items and the order are those of the unmoved rows.
TEST(Batch, HourShiftMovesTheCalendarFeaturesOnly) {
  const EncodedDataset ds = dataset_of(
      {{"2014-11-18 00", "2014-11-18 02", "2014-11-18 04"}, {"2014-11-22 10", "2014-11-22 23"}});
  const std::vector<RowRange> parts = {ds.user_rows(0), ds.user_rows(1)};
  const SequenceBatch kept = make_batch(ds, parts, 64, 4);
  // User 0 by 1 h + 4 days (Tuesday 00 -> Saturday 01); user 1 by 26 h (Saturday -> Sunday).
  const SequenceBatch moved = make_batch(ds, parts, 64, 4, {4 * 24 + 1, 26});
  ASSERT_EQ(moved.length, kept.length);
  EXPECT_EQ(moved.weekday[1], 6);
  EXPECT_EQ(moved.hour[1], 2);  // 00 h + 1 -> hour feature 2
  EXPECT_EQ(moved.weekend[1], 2);
  EXPECT_EQ(moved.hour[3], 6);
  EXPECT_EQ(moved.weekday[kept.length + 2], 7);
  EXPECT_EQ(moved.hour[kept.length + 2], 13);  // 10 h + 2
  EXPECT_EQ(moved.hour[kept.length + 3], 2);   // 23 h + 2 -> 01 h the next day
  EXPECT_EQ(moved.weekday[kept.length + 3], 1);
  EXPECT_EQ(moved.weekend[kept.length + 3], 1);
  EXPECT_EQ(moved.item, kept.item);
  EXPECT_EQ(moved.behavior, kept.behavior);
  EXPECT_EQ(moved.position, kept.position);
  EXPECT_EQ(moved.continuous, kept.continuous);
  EXPECT_NE(moved.weekday, kept.weekday);
  for (size_t cell = 0; cell < moved.weekday.size(); ++cell)  // padding stays 0
    EXPECT_EQ(moved.weekday[cell] == 0, kept.weekday[cell] == 0);
  // No offsets, no change.
  EXPECT_EQ(make_batch(ds, parts, 64, 4, {}).hour, kept.hour);
}

// The offsets: 1 to 167 hours (never a whole week, which would keep the hour of week), the same
// for the same (seed, stream), and spread over the week.
TEST(Batch, MovedShortHoursCoverTheWeekButNeverAWholeOne) {
  std::vector<int> seen(168, 0);
  for (uint64_t stream = 0; stream < 20000; ++stream) {
    const int64_t h = moved_short_hours(42, stream);
    ASSERT_GE(h, 1);
    ASSERT_LE(h, 167);
    ++seen[static_cast<size_t>(h)];
    EXPECT_EQ(h, moved_short_hours(42, stream));
  }
  EXPECT_EQ(seen[0], 0);
  for (int h = 1; h < 168; ++h) EXPECT_GT(seen[static_cast<size_t>(h)], 60) << h;  // ~120 each
  int differ = 0;  // another seed, other offsets
  for (uint64_t stream = 0; stream < 100; ++stream)
    differ += moved_short_hours(42, stream) != moved_short_hours(43, stream);
  EXPECT_GT(differ, 90);
}

// The gap split: the short part starts at the first gap of at least min_gap_hours at or after the
// 90% point (else the last before it that leaves the long part half the history) and runs to the
// end; the long part is everything before it; no such gap, no split.
TEST(Sequences, GapSplitCutsAtTheFirstGapAfterTheNinetyPercentPoint) {
  // 21 rows: the 90% point is row 18. Rows 0-17 in one sitting, a 12-hour gap before row 18,
  // rows 18-19 in one visit, another 12-hour gap before row 20: the short part is rows 18-20.
  std::vector<std::string> visits(18, "2014-12-05 08");
  for (const char* t : {"2014-12-05 20", "2014-12-05 21", "2014-12-06 09"}) visits.push_back(t);
  const EncodedDataset d = dataset_of({
      // 10 rows: the 90% point is row 9. A 5-hour gap before row 4 (too early), rows 4-8 in one
      // sitting, a gap of 6 h before row 9: the short part is row 9 alone.
      {"2014-12-01 08", "2014-12-01 08", "2014-12-01 09", "2014-12-01 09", "2014-12-01 14",
       "2014-12-01 14", "2014-12-01 15", "2014-12-01 15", "2014-12-01 15", "2014-12-01 21"},
      // 10 rows: a 24-hour gap before row 8, before the 90% point, and none at or after it:
      // the last gap before it, as the long part keeps 8 rows (at least half).
      {"2014-12-02 10", "2014-12-02 10", "2014-12-02 10", "2014-12-02 10", "2014-12-02 10",
       "2014-12-02 11", "2014-12-02 11", "2014-12-02 11", "2014-12-03 11", "2014-12-03 11"},
      // 20 rows: the 90% point is row 18; the one gap, of exactly 4 h, is before row 19.
      {"2014-12-04 00", "2014-12-04 00", "2014-12-04 00", "2014-12-04 00", "2014-12-04 00",
       "2014-12-04 01", "2014-12-04 01", "2014-12-04 01", "2014-12-04 01", "2014-12-04 01",
       "2014-12-04 02", "2014-12-04 02", "2014-12-04 02", "2014-12-04 02", "2014-12-04 02",
       "2014-12-04 03", "2014-12-04 03", "2014-12-04 03", "2014-12-04 03", "2014-12-04 07"},
      visits,
      // 10 rows: the only gap is before row 4, which would leave the long part under half.
      {"2014-12-07 10", "2014-12-07 10", "2014-12-07 10", "2014-12-07 10", "2014-12-07 20",
       "2014-12-07 20", "2014-12-07 20", "2014-12-07 20", "2014-12-07 20", "2014-12-07 20"},
      // 10 rows in one sitting.
      std::vector<std::string>(10, "2014-12-08 10"),
  });
  const SplitRule gap = SplitRule::gap(4);
  const UserSplit a = split_user(d, d.user_rows(0), gap);
  ASSERT_TRUE(a.trainable());
  EXPECT_EQ(a.long_part.size(), 9u);
  EXPECT_EQ(a.short_part.size(), 1u);
  EXPECT_EQ(a.long_part.end, a.short_part.begin);
  EXPECT_EQ(a.short_part.end, d.user_rows(0).end);

  const UserSplit b = split_user(d, d.user_rows(1), gap);
  ASSERT_TRUE(b.trainable()) << "no gap at or after 90%: the last one before it";
  EXPECT_EQ(b.long_part.size(), 8u);
  EXPECT_EQ(b.short_part.size(), 2u);
  EXPECT_FALSE(split_user(d, d.user_rows(4), gap).trainable()) << "long part under half";
  EXPECT_FALSE(split_user(d, d.user_rows(5), gap).trainable()) << "one sitting";
  EXPECT_TRUE(split_user(d, d.user_rows(5), SplitRule::count()).trainable());

  const UserSplit c = split_user(d, d.user_rows(2), gap);
  ASSERT_TRUE(c.trainable());
  EXPECT_EQ(c.long_part.size(), 19u) << "a gap of exactly min_gap_hours counts";
  EXPECT_EQ(c.short_part.size(), 1u);
  EXPECT_FALSE(split_user(d, d.user_rows(2), SplitRule::gap(5)).trainable());

  const RowRange rows = d.user_rows(3);
  const UserSplit e = split_user(d, rows, gap);
  ASSERT_TRUE(e.trainable());
  EXPECT_EQ(e.long_part.begin, rows.begin);
  EXPECT_EQ(e.long_part.size(), 18u);
  EXPECT_EQ(e.short_part.begin, rows.begin + 18);
  EXPECT_EQ(e.short_part.size(), 3u) << "the short part runs to the end, past the next gap";

  // The count rule through the same entry point is the original split.
  const UserSplit plain = split_user(d, rows, SplitRule::count());
  EXPECT_EQ(plain.long_part.size(), split_user(rows).long_part.size());
  EXPECT_EQ(SplitRule::gap(4).name(), "gap");
  EXPECT_EQ(SplitRule::count().name(), "count");
}
