// Hour-precision timestamps as in the Tianchi data: "YYYY-MM-DD HH".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lti {

// Hours since 1970-01-01 00:00 UTC. The data has hour precision, so an int32 suffices.
using UnixHour = int32_t;

// Parses "YYYY-MM-DD HH" exactly (13 characters, a valid calendar date, hour 0..23).
std::optional<UnixHour> parse_hour(std::string_view text);

// Formats back to "YYYY-MM-DD HH".
std::string format_hour(UnixHour hour);

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

// Day of week, 1 = Monday .. 7 = Sunday.
int weekday_of(UnixHour hour);

// Hour of day, 0..23.
inline int hour_of_day(UnixHour hour) { return ((hour % 24) + 24) % 24; }

}  // namespace lti
