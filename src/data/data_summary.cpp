#include "lti/data/data_summary.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "lti/data/sequences.h"

namespace lti {

DataSummary DataSummary::compute(const ReadStats& stats, const EncodedDataset& data,
                                 const Encoders& encoders) {
  DataSummary s;
  s.files = stats.files;
  s.rows = data.num_rows();
  s.rows_skipped = stats.rows_skipped;
  s.users = data.num_users();
  s.items = encoders.item.num_known();
  s.categories = encoders.category.num_known();
  for (uint8_t b : data.behavior) ++s.behavior_counts[b];
  if (!data.time.empty()) {
    const auto [lo, hi] = std::minmax_element(data.time.begin(), data.time.end());
    s.first_time = *lo;
    s.last_time = *hi;
  }
  std::vector<uint64_t> lengths(data.num_users());
  for (size_t u = 0; u < data.num_users(); ++u) {
    lengths[u] = data.user_rows(u).size();
    s.trainable_users += split_user(data.user_rows(u)).trainable();
    s.pause_users +=
        split_user(data, data.user_rows(u), SplitRule::gap(kDefaultMinGapHours)).trainable();
  }
  std::sort(lengths.begin(), lengths.end());
  if (!lengths.empty()) {
    const double qs[4] = {0.10, 0.50, 0.90, 0.99};
    for (int i = 0; i < 4; ++i)
      s.length_percentiles[i] = lengths[static_cast<size_t>(qs[i] * (lengths.size() - 1) + 0.5)];
    s.length_percentiles[4] = lengths.back();
  }
  return s;
}

std::string DataSummary::to_text() const {
  static const char* kNames[5] = {"", "browse", "collect", "cart", "buy"};
  std::ostringstream out;
  out << fmt::format("files            {}\n", files);
  out << fmt::format("rows             {}\n", rows);
  out << fmt::format("skipped rows     {}\n", rows_skipped);
  out << fmt::format(
      "users            {} ({} with both a long and a short part, {} of them with a pause of {} h "
      "to split at)\n",
      users, trainable_users, pause_users, kDefaultMinGapHours);
  out << fmt::format("items            {}\n", items);
  out << fmt::format("categories       {}\n", categories);
  out << "behaviour mix   ";
  for (int b = 1; b <= 4; ++b) {
    const double pct = rows ? 100.0 * behavior_counts[b] / rows : 0.0;
    out << fmt::format(" {} {:.2f}%", kNames[b], pct);
  }
  out << "\n";
  if (rows) {
    out << fmt::format("time range       {} .. {}\n", format_hour(first_time),
                       format_hour(last_time));
  }
  out << fmt::format("rows per user    p10 {}  p50 {}  p90 {}  p99 {}  max {}\n",
                     length_percentiles[0], length_percentiles[1], length_percentiles[2],
                     length_percentiles[3], length_percentiles[4]);
  return out.str();
}

nlohmann::json DataSummary::to_json() const {
  nlohmann::json j;
  j["files"] = files;
  j["rows"] = rows;
  j["rows_skipped"] = rows_skipped;
  j["users"] = users;
  j["trainable_users"] = trainable_users;
  j["users_with_a_pause"] = pause_users;
  j["items"] = items;
  j["categories"] = categories;
  j["behavior_counts"] = {{"browse", behavior_counts[1]},
                          {"collect", behavior_counts[2]},
                          {"cart", behavior_counts[3]},
                          {"buy", behavior_counts[4]}};
  j["first_time"] = rows ? format_hour(first_time) : "";
  j["last_time"] = rows ? format_hour(last_time) : "";
  j["rows_per_user"] = {{"p10", length_percentiles[0]},
                        {"p50", length_percentiles[1]},
                        {"p90", length_percentiles[2]},
                        {"p99", length_percentiles[3]},
                        {"max", length_percentiles[4]}};
  return j;
}

}  // namespace lti
