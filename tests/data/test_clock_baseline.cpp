// The clock baseline of lti eval (src/data/clock_baseline.cpp): ranks by the boundary's hour of
// week.
#include <gtest/gtest.h>

#include "lti/data/clock_baseline.h"

using namespace lti;

TEST(ClockBaseline, HourOfWeekAndItsDistanceOnTheWeeklyCircle) {
  EXPECT_EQ(hour_of_week(*parse_hour("2014-12-01 00")), 0);  // a Monday
  EXPECT_EQ(hour_of_week(*parse_hour("2014-12-01 13")), 13);
  EXPECT_EQ(hour_of_week(*parse_hour("2014-12-07 23")), 167);  // Sunday 23h
  EXPECT_EQ(hour_of_week(*parse_hour("2014-12-08 02")), 2);
  EXPECT_EQ(hour_of_week_distance(3, 3), 0);
  EXPECT_EQ(hour_of_week_distance(1, 166), 3);  // across Sunday night
  EXPECT_EQ(hour_of_week_distance(0, 84), 84);
  EXPECT_EQ(hour_of_week_distance(10, 100), 78);
}

TEST(ClockBaseline, IdenticalBoundaryHoursRankFirst) {
  // Every user's short part begins in the hour their long part ends, and the hours differ.
  const std::vector<int> long_last = {5, 30, 77, 120, 160};
  const std::vector<size_t> ranks = clock_ranks(long_last, long_last);
  for (const size_t r : ranks) EXPECT_EQ(r, 1u);
  // Shifted by one hour, the own short part is still the closest.
  std::vector<int> next_hour;
  for (const int h : long_last) next_hour.push_back(h + 1);
  for (const size_t r : clock_ranks(long_last, next_hour)) EXPECT_EQ(r, 1u);
}

TEST(ClockBaseline, TiesCountAgainstTheUser) {
  // All short parts begin at the same hour: every user ties with every other, so each ranks last.
  const std::vector<size_t> ranks = clock_ranks({1, 50, 100, 150}, {7, 7, 7, 7});
  for (const size_t r : ranks) EXPECT_EQ(r, 4u);
  // User 0 ends at 10; short parts at 12 (own), 8 (as close: a tie), 11 (closer), 60: rank 3.
  const std::vector<size_t> mixed = clock_ranks({10, 0, 0, 0}, {12, 8, 11, 60});
  EXPECT_EQ(mixed[0], 3u);
  EXPECT_THROW(clock_ranks({1, 2}, {1}), std::invalid_argument);
}
