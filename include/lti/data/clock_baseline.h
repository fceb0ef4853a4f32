// The clock baseline of `lti eval` (SPEC section 8): how well the boundary time alone finds a
// user's own short part, with no item at all. People rate and browse in sittings, so a split by
// count usually starts the short part in the hour the long part ends; a vector that encoded that
// hour would win the retrieval test and recommend nothing.
#pragma once

#include <cstddef>
#include <vector>

#include "lti/util/time_util.h"

namespace lti {

// The weekday and hour the model sees of a time, as one number: 0 (Monday 00h) .. 167.
int hour_of_week(UnixHour hour);

// Hours between two hours of week on the weekly circle: 0 .. 84.
int hour_of_week_distance(int a, int b);

// For each user i, with long_last[i] the hour of week of the long part's last interaction and
// short_first[i] that of the short part's first: the rank of the user's own short part when
// every user's short part j is scored by -hour_of_week_distance(long_last[i], short_first[j]).
// rank = 1 + the other users scoring at least as high, so ties count against the user.
std::vector<size_t> clock_ranks(const std::vector<int>& long_last,
                                const std::vector<int>& short_first);

}  // namespace lti
