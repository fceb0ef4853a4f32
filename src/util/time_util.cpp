#include "lti/util/time_util.h"

#include <cstdio>

namespace lti {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

static void civil_from_days(int64_t z, int& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int>(yoe + era * 400 + (month <= 2));
}

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int y, unsigned m) {
  static const unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

std::optional<UnixHour> parse_hour(std::string_view s) {
  if (s.size() != 13 || s[4] != '-' || s[7] != '-' || s[10] != ' ') return std::nullopt;
  auto digits = [&](size_t pos, size_t n, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int year, month, day, hour;
  if (!digits(0, 4, year) || !digits(5, 2, month) || !digits(8, 2, day) || !digits(11, 2, hour))
    return std::nullopt;
  // 1970..2099 keeps hours inside int32 and rejects obvious garbage such as 0000 or 9999.
  if (year < 1970 || year > 2099 || month < 1 || month > 12 || hour > 23) return std::nullopt;
  if (day < 1 || static_cast<unsigned>(day) > days_in_month(year, month)) return std::nullopt;
  return static_cast<UnixHour>(days_from_civil(year, month, day) * 24 + hour);
}

std::string format_hour(UnixHour hour) {
  const int64_t days = hour >= 0 ? hour / 24 : (hour - 23) / 24;
  int y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d", y, m, d, hour_of_day(hour));
  return buf;
}

int weekday_of(UnixHour hour) {
  const int64_t days = hour >= 0 ? hour / 24 : (hour - 23) / 24;
  // 1970-01-01 was a Thursday (4).
  return static_cast<int>(((days + 3) % 7 + 7) % 7) + 1;
}

}  // namespace lti
