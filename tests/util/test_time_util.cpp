#include <gtest/gtest.h>

#include "lti/util/time_util.h"

using namespace lti;

TEST(TimeUtil, ParsesAndFormatsRoundTrip) {
  const auto h = parse_hour("2014-11-18 00");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(format_hour(*h), "2014-11-18 00");
  EXPECT_EQ(*parse_hour("2014-11-18 01") - *h, 1);
  EXPECT_EQ(*parse_hour("2014-12-18 23") - *h, 30 * 24 + 23);
  EXPECT_EQ(*parse_hour("1970-01-01 05"), 5);
}

TEST(TimeUtil, RejectsMalformedOrImpossibleTimes) {
  for (const char* bad : {"", "2014-11-18", "2014-11-18 24", "2014-13-01 00", "2014-02-29 10",
                          "2014/11/18 00", "2014-11-18 0x", "20141118 00 ", "2014-11-32 00",
                          "1969-12-31 23", "2014-11-18 00:00", "abcd-ef-gh ij"}) {
    EXPECT_FALSE(parse_hour(bad).has_value()) << bad;
  }
  EXPECT_TRUE(parse_hour("2016-02-29 10").has_value());  // leap year
}

TEST(TimeUtil, WeekdayMondayIsOne) {
  EXPECT_EQ(weekday_of(*parse_hour("2014-11-18 00")), 2);  // a Tuesday
  EXPECT_EQ(weekday_of(*parse_hour("2014-11-22 23")), 6);  // Saturday
  EXPECT_EQ(weekday_of(*parse_hour("2014-11-23 00")), 7);  // Sunday
  EXPECT_EQ(weekday_of(*parse_hour("2014-11-24 12")), 1);  // Monday
  EXPECT_EQ(hour_of_day(*parse_hour("2014-11-24 12")), 12);
}
