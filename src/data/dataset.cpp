#include "lti/data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <thread>

namespace lti {

Encoders Encoders::fit(const RawInteractions& rows, uint64_t min_item_count) {
  Encoders e;
  // Items dominate the work; users and categories run beside them on a second thread.
  std::thread side([&] {
    e.user.fit(rows.user);
    e.category.fit(rows.category);
  });
  e.item.fit(rows.item, min_item_count);
  side.join();
  return e;
}

void Encoders::stage(const std::string& dir, StagedFiles& files) const {
  files.add(dir + "/user_encoder.txt", user.to_text());
  files.add(dir + "/item_encoder.txt", item.to_text());
  files.add(dir + "/category_encoder.txt", category.to_text());
}

Encoders Encoders::load(const std::string& dir) {
  Encoders e;
  e.user = LabelEncoder::load(dir + "/user_encoder.txt");
  e.item = LabelEncoder::load(dir + "/item_encoder.txt");
  e.category = LabelEncoder::load(dir + "/category_encoder.txt");
  return e;
}

namespace {

// Row indices in ascending time, equal times in file order.
std::vector<uint64_t> stable_order_by_time(const std::vector<UnixHour>& time) {
  const size_t n = time.size();
  std::vector<uint64_t> order(n);
  if (n == 0) return order;
  const auto [lo, hi] = std::minmax_element(time.begin(), time.end());
  const int64_t range = int64_t{*hi} - *lo + 1;
  if (range > 50'000'000) {  // decades of hours: fall back to a comparison sort
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint64_t a, uint64_t b) { return time[a] < time[b]; });
    return order;
  }
  std::vector<uint64_t> start(static_cast<size_t>(range) + 1, 0);
  for (UnixHour t : time) ++start[t - *lo + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  for (size_t i = 0; i < n; ++i) order[start[time[i] - *lo]++] = i;
  return order;
}

}  // namespace

EncodedDataset EncodedDataset::build(const RawInteractions& rows, const Encoders& encoders) {
  const size_t n = rows.size();
  EncodedDataset ds;

  // Dense 0-based user slot per row: known users by encoder index, then users the encoder has
  // not seen, in ascending raw id, so the layout does not depend on row order either.
  std::vector<uint64_t> unseen;
  const size_t known_users = encoders.user.num_known();
  std::vector<uint32_t> slot(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t idx = encoders.user.encode(rows.user[i]);
    if (idx == LabelEncoder::kUnknown) unseen.push_back(rows.user[i]);
    slot[i] = idx - LabelEncoder::kFirstKnown;
  }
  std::sort(unseen.begin(), unseen.end());
  unseen.erase(std::unique(unseen.begin(), unseen.end()), unseen.end());
  if (!unseen.empty()) {
    for (size_t i = 0; i < n; ++i) {
      if (slot[i] != LabelEncoder::kUnknown - LabelEncoder::kFirstKnown) continue;
      const auto it = std::lower_bound(unseen.begin(), unseen.end(), rows.user[i]);
      slot[i] = static_cast<uint32_t>(known_users + (it - unseen.begin()));
    }
  }
  const size_t num_users = known_users + unseen.size();
  ds.user_raw_id = encoders.user.known_raw_ids();
  ds.user_raw_id.insert(ds.user_raw_id.end(), unseen.begin(), unseen.end());

  // Items and categories are encoded on a second thread while the rows are being sorted.
  std::vector<uint32_t> item_index(n), category_index(n);
  std::thread encoder_thread([&] {
    for (size_t i = 0; i < n; ++i) item_index[i] = encoders.item.encode(rows.item[i]);
    for (size_t i = 0; i < n; ++i) category_index[i] = encoders.category.encode(rows.category[i]);
  });

  // Order rows by (user, time), equal keys in file order: two stable counting sorts, by time
  // first and then by user (LSD radix sort).
  std::vector<uint64_t> order = stable_order_by_time(rows.time);
  ds.user_offsets.assign(num_users + 1, 0);
  for (size_t i = 0; i < n; ++i) ++ds.user_offsets[slot[i] + 1];
  std::partial_sum(ds.user_offsets.begin(), ds.user_offsets.end(), ds.user_offsets.begin());
  {
    std::vector<uint64_t> by_user(n);
    std::vector<uint64_t> next(ds.user_offsets.begin(), ds.user_offsets.end() - 1);
    for (uint64_t i : order) by_user[next[slot[i]]++] = i;
    order.swap(by_user);
  }
  slot = {};
  encoder_thread.join();

  ds.item.resize(n);
  ds.category.resize(n);
  ds.behavior.resize(n);
  ds.time.resize(n);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t i = order[j];
    ds.item[j] = item_index[i];
    ds.category[j] = category_index[i];
    ds.behavior[j] = rows.behavior[i];
    ds.time[j] = rows.time[i];
  }
  return ds;
}

}  // namespace lti
