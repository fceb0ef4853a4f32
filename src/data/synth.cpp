#include "lti/data/synth.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <ostream>
#include <unordered_set>
#include <vector>

#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"
#include "lti/util/rng.h"
#include "lti/util/time_util.h"

namespace lti {

SynthOptions SynthOptions::tianchi_preset() {
  SynthOptions o;
  o.users = 10000;
  o.rows = 12256906;
  o.items = 2876947;
  o.categories = 8916;
  return o;
}

void SynthOptions::validate() const {
  auto fail = [](const std::string& m) { throw Error(kExitUsage, "synth: " + m); };
  if (users == 0) fail("--users must be at least 1");
  if (rows < users) fail("--rows must be at least --users (every user has an interaction)");
  if (categories == 0) fail("--categories must be at least 1");
  if (items < categories) fail("--items must be at least --categories (no empty category)");
  if (users > 100000000 || items > 1000000000 || categories > 10000000)
    fail("sizes beyond 1e8 users, 1e9 items or 1e7 categories are not supported");
  if (interest_share < 0 || interest_share > 1) fail("--interest_share must be in [0, 1]");
  if (interest_drift < 0 || interest_drift > 1) fail("--interest_drift must be in [0, 1]");
  if (revisit_share < 0 || revisit_share >= 1) fail("--revisit_share must be in [0, 1)");
  if (min_interests == 0 || min_interests > max_interests)
    fail("need 1 <= --min_interests <= --max_interests");
}

namespace {

// Tianchi's behaviour mix: browse, collect, cart, buy.
constexpr double kBehaviorShare[4] = {0.9423, 0.0210, 0.0278, 0.0089};
// Relative activity per hour of day: quiet at night, peaks in the evening.
constexpr double kHourWeight[24] = {2.2, 1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.0, 1.8, 2.6, 3.0, 3.2,
                                    3.1, 3.2, 3.2, 3.3, 3.2, 3.2, 3.4, 4.0, 4.8, 5.3, 5.1, 3.8};
constexpr int kDays = 31;             // 2014-11-18 .. 2014-12-18
constexpr int kDoubleTwelveDay = 24;  // 2014-12-12, the shopping festival
constexpr double kEmptyGeohashShare = 0.68;
constexpr int kMaxRedraws = 64;           // draws per interaction that avoid the user's items
constexpr double kRevisitRecency = 20.0;  // mean distance back, in new items, of a revisit
constexpr double kCategoryZipf = 1.0;
constexpr double kItemZipf = 1.2;

// Draws from a discrete distribution by binary search on its cumulative weights.
class Discrete {
 public:
  Discrete() = default;
  explicit Discrete(const std::vector<double>& weights) : cdf_(weights.size()) {
    std::partial_sum(weights.begin(), weights.end(), cdf_.begin());
    for (double& c : cdf_) c /= cdf_.back();
  }
  size_t operator()(Rng& rng) const {
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), rng.uniform());
    return std::min<size_t>(it - cdf_.begin(), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

// Rank in [0, n) with P(rank) roughly proportional to (rank + 1)^-s (continuous inverse CDF).
uint64_t zipf_rank(Rng& rng, uint64_t n, double s) {
  const double u = rng.uniform();
  const double a = std::pow(static_cast<double>(n) + 1.0, 1.0 - s);
  const double x = std::pow((a - 1.0) * u + 1.0, 1.0 / (1.0 - s));
  return std::min<uint64_t>(static_cast<uint64_t>(x) - 1, n - 1);
}

// Distinct ascending raw ids spread over [1, range): id k lies in its own stride.
uint64_t strided_id(uint64_t k, uint64_t count, uint64_t range, uint64_t seed) {
  const uint64_t step = std::max<uint64_t>(range / count, 1);
  uint64_t h = seed ^ (k * 0x9e3779b97f4a7c15ULL);
  return 1 + k * step + splitmix64(h) % step;
}

uint64_t gcd(uint64_t a, uint64_t b) { return b == 0 ? a : gcd(b, a % b); }

struct Catalogue {
  std::vector<uint64_t> category_raw;  // raw id per category
  Discrete category_popularity;
  std::vector<uint64_t> item_begin;     // category c owns catalogue items [begin[c], begin[c+1])
  std::vector<uint64_t> item_category;  // category of each catalogue item
  uint64_t item_multiplier = 1;         // catalogue index -> raw-id slot, a bijection mod items
  uint64_t item_range = 0;
  uint64_t seed = 0;
  uint64_t items = 0;

  uint64_t item_raw(uint64_t j) const {
    const uint64_t slot =
        static_cast<uint64_t>((static_cast<unsigned __int128>(j) * item_multiplier + 7) % items);
    return strided_id(slot, items, item_range, seed ^ 0x1234);
  }
};

Catalogue make_catalogue(const SynthOptions& o) {
  Catalogue cat;
  cat.seed = o.seed;
  cat.items = o.items;
  Rng rng(o.seed, 1);
  const uint64_t C = o.categories;
  const uint64_t category_range = std::max<uint64_t>(14080, 2 * C);
  cat.category_raw.resize(C);
  for (uint64_t c = 0; c < C; ++c) cat.category_raw[c] = strided_id(c, C, category_range, o.seed);

  // Popularity ranks are a random permutation of the categories, so raw ids carry no signal.
  std::vector<uint64_t> rank(C);
  std::iota(rank.begin(), rank.end(), 0);
  for (uint64_t i = C; i > 1; --i) std::swap(rank[i - 1], rank[rng.below(i)]);
  std::vector<double> weight(C);
  for (uint64_t c = 0; c < C; ++c) weight[c] = std::pow(rank[c] + 1.0, -kCategoryZipf);
  cat.category_popularity = Discrete(weight);

  // Category sizes follow popularity; every category gets at least one item.
  const double total = std::accumulate(weight.begin(), weight.end(), 0.0);
  std::vector<uint64_t> size(C, 1);
  uint64_t assigned = C;
  for (uint64_t c = 0; c < C; ++c) {
    const auto extra = static_cast<uint64_t>(std::floor(weight[c] / total * (o.items - C)));
    size[c] += extra;
    assigned += extra;
  }
  for (uint64_t i = 0; assigned < o.items; ++i, ++assigned) ++size[i % C];
  cat.item_begin.assign(C + 1, 0);
  for (uint64_t c = 0; c < C; ++c) cat.item_begin[c + 1] = cat.item_begin[c] + size[c];
  cat.item_category.resize(o.items);
  for (uint64_t c = 0; c < C; ++c)
    std::fill(cat.item_category.begin() + cat.item_begin[c],
              cat.item_category.begin() + cat.item_begin[c + 1], c);

  cat.item_range = std::max<uint64_t>(404000000, 2 * o.items);
  cat.item_multiplier = 2654435761ULL % o.items;
  while (cat.item_multiplier == 0 || gcd(cat.item_multiplier, o.items) != 1) ++cat.item_multiplier;
  return cat;
}

// Rows per user: log-normal activity (heavy tail), at least 2 rows when the total allows.
std::vector<uint64_t> user_row_counts(const SynthOptions& o) {
  Rng rng(o.seed, 2);
  const uint64_t floor_rows = o.rows >= 2 * o.users ? 2 : 1;
  std::vector<double> w(o.users);
  for (auto& x : w) {
    // Box-Muller normal, sigma 1.1.
    const double z = std::sqrt(-2.0 * std::log(1.0 - rng.uniform())) *
                     std::cos(6.283185307179586 * rng.uniform());
    x = std::exp(1.1 * z);
  }
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  const uint64_t spare = o.rows - floor_rows * o.users;
  std::vector<uint64_t> n(o.users, floor_rows);
  uint64_t assigned = 0;
  for (uint64_t u = 0; u < o.users; ++u) {
    const auto extra = static_cast<uint64_t>(std::floor(w[u] / total * spare));
    n[u] += extra;
    assigned += extra;
  }
  for (uint64_t i = 0; assigned < spare; ++i, ++assigned) ++n[rng.below(o.users)];
  return n;
}

class RowWriter {
 public:
  explicit RowWriter(std::ostream& out) : out_(out) { buffer_.reserve(kFlushAt + 4096); }
  ~RowWriter() = default;

  void text(const char* s, size_t n) { buffer_.append(s, n); }
  void number(uint64_t v) {
    char tmp[24];
    auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
    buffer_.append(tmp, end);
  }
  void ch(char c) { buffer_.push_back(c); }
  void end_row() {
    buffer_.push_back('\n');
    if (buffer_.size() >= kFlushAt) flush();
  }
  void flush() {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    bytes_ += buffer_.size();
    buffer_.clear();
  }
  uint64_t bytes() const { return bytes_ + buffer_.size(); }

 private:
  static constexpr size_t kFlushAt = 1 << 22;
  std::ostream& out_;
  std::string buffer_;
  uint64_t bytes_ = 0;
};

// One generated interaction of the user being written.
struct SynthRow {
  uint64_t item = 0;  // catalogue index
  uint16_t hour = 0;  // hours since 2014-11-18 00
  uint8_t behavior = 1;
  int8_t geohash = -1;  // index of one of the user's home geohashes, -1 = empty
};

// A user's planted interests: 2..4 categories with random weights at the start of the
// history, and a second weighting (over the same categories plus one that emerges later) that
// the weights move towards by the end: w(t) = (1 - drift t) w_start + drift t w_end.
class Interests {
 public:
  static Interests draw(const SynthOptions& o, const Catalogue& cat, Rng& rng) {
    Interests in;
    const uint32_t k =
        o.min_interests + static_cast<uint32_t>(rng.below(o.max_interests - o.min_interests + 1));
    for (uint32_t i = 0; i <= k; ++i) in.categories_.push_back(cat.category_popularity(rng));
    auto weight = [&rng] { return -std::log(1.0 - rng.uniform()) + 0.05; };
    for (uint32_t i = 0; i <= k; ++i) in.start_.push_back(i < k ? weight() : 0.0);
    for (uint32_t i = 0; i <= k; ++i) in.end_.push_back(weight());
    in.drift_ = o.interest_drift;
    return in;
  }

  // A category drawn from the weights in force at `progress` in [0, 1] through the history.
  uint64_t at(double progress, Rng& rng) const {
    const double t = drift_ * progress;
    double total = 0;
    for (size_t i = 0; i < categories_.size(); ++i) total += (1 - t) * start_[i] + t * end_[i];
    double x = rng.uniform() * total;
    for (size_t i = 0; i + 1 < categories_.size(); ++i) {
      x -= (1 - t) * start_[i] + t * end_[i];
      if (x < 0) return categories_[i];
    }
    return categories_.back();
  }

 private:
  std::vector<uint64_t> categories_;
  std::vector<double> start_, end_;
  double drift_ = 0;
};

}  // namespace

SynthReport synthesize(const SynthOptions& o, const std::string& path) {
  o.validate();
  const Catalogue cat = make_catalogue(o);
  const std::vector<uint64_t> rows_of_user = user_row_counts(o);

  std::vector<double> day_weight(kDays, 1.0);
  day_weight[kDoubleTwelveDay] = 3.0;
  day_weight[kDoubleTwelveDay - 1] = 1.4;
  const Discrete day_dist(day_weight);
  const Discrete hour_dist(std::vector<double>(std::begin(kHourWeight), std::end(kHourWeight)));
  const Discrete behavior_dist(
      std::vector<double>(std::begin(kBehaviorShare), std::end(kBehaviorShare)));
  const UnixHour first_hour = *parse_hour("2014-11-18 00");
  std::vector<std::string> time_text(kDays * 24);
  for (int h = 0; h < kDays * 24; ++h) time_text[h] = format_hour(first_hour + h);

  // New (long-tail) items are drawn at this rate so the distinct item count lands near the
  // catalogue size, as in the real data where most items are seen only a few times.
  const double fresh_share =
      std::min(0.9, 0.97 * static_cast<double>(o.items) / (o.rows * (1.0 - o.revisit_share)));
  std::vector<uint64_t> fresh_next(o.categories);  // counts down from the category's tail
  for (uint64_t c = 0; c < o.categories; ++c)
    fresh_next[c] = cat.item_begin[c + 1] - cat.item_begin[c];
  std::vector<uint8_t> item_seen(o.items, 0), category_seen(o.categories, 0);

  static const char kGeoAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  const uint64_t user_range = 140000000;

  SynthReport report;
  write_file_atomically(path, [&](std::ostream& out) {
    RowWriter w(out);
    const char header[] = "user_id,item_id,behavior_type,user_geohash,item_category,time";
    w.text(header, sizeof header - 1);
    w.end_row();
    std::vector<uint64_t> history;
    std::unordered_set<uint64_t> touched;  // the user's items, when revisits are excluded
    std::vector<SynthRow> user_rows;
    for (uint64_t u = 0; u < o.users; ++u) {
      Rng rng(o.seed, 1000 + u);
      const uint64_t user_raw = 10000000 + strided_id(u, o.users, user_range, o.seed ^ 0x55);
      const Interests interests = Interests::draw(o, cat, rng);
      char geohashes[3][8];
      const int homes = 1 + static_cast<int>(rng.below(3));
      for (int g = 0; g < homes; ++g) {
        for (int i = 0; i < 7; ++i) geohashes[g][i] = kGeoAlphabet[rng.below(32)];
        geohashes[g][7] = '\0';
      }

      // The history is generated in time order, so that interests can drift and revisits can
      // favour recent items; it is written in random order (the reader sorts).
      const uint64_t n_rows = rows_of_user[u];
      user_rows.resize(n_rows);
      for (SynthRow& row : user_rows)
        row.hour = static_cast<uint16_t>(day_dist(rng) * 24 + hour_dist(rng));
      std::sort(user_rows.begin(), user_rows.end(),
                [](const SynthRow& a, const SynthRow& b) { return a.hour < b.hour; });
      history.clear();
      touched.clear();
      for (uint64_t r = 0; r < n_rows; ++r) {
        SynthRow& row = user_rows[r];
        row.behavior = static_cast<uint8_t>(1 + behavior_dist(rng));
        // Collect, cart and buy are deliberate: they stay inside the user's interests.
        const bool intentional = row.behavior != 1 && o.interest_share > 0;
        uint64_t item;
        if (!history.empty() && rng.uniform() < o.revisit_share) {
          const auto back = static_cast<uint64_t>(-kRevisitRecency * std::log(1.0 - rng.uniform()));
          item = history[history.size() - 1 - std::min<uint64_t>(back, history.size() - 1)];
        } else {
          const double progress = n_rows > 1 ? static_cast<double>(r) / (n_rows - 1) : 0.0;
          // Without revisits, a draw that hits one of the user's items is drawn again (a bounded
          // number of times, so a user with more rows than a small catalogue still ends).
          for (int attempt = 0;; ++attempt) {
            const uint64_t c = intentional || rng.uniform() < o.interest_share
                                   ? interests.at(progress, rng)
                                   : cat.category_popularity(rng);
            const uint64_t n = cat.item_begin[c + 1] - cat.item_begin[c];
            uint64_t offset;
            if (fresh_next[c] > n / 20 && rng.uniform() < fresh_share) {
              offset = --fresh_next[c];
            } else {
              offset = zipf_rank(rng, n, kItemZipf);
            }
            item = cat.item_begin[c] + offset;
            if (o.revisit_share > 0 || touched.insert(item).second || attempt == kMaxRedraws) break;
          }
          history.push_back(item);
        }
        row.item = item;
        item_seen[item] = 1;
        category_seen[cat.item_category[item]] = 1;
        row.geohash = rng.uniform() >= kEmptyGeohashShare ? static_cast<int8_t>(rng.below(homes))
                                                          : int8_t{-1};
      }
      for (uint64_t i = n_rows; i > 1; --i) std::swap(user_rows[i - 1], user_rows[rng.below(i)]);

      for (const SynthRow& row : user_rows) {
        w.number(user_raw);
        w.ch(',');
        w.number(cat.item_raw(row.item));
        w.ch(',');
        w.ch(static_cast<char>('0' + row.behavior));
        w.ch(',');
        if (row.geohash >= 0) w.text(geohashes[row.geohash], 7);
        w.ch(',');
        w.number(cat.category_raw[cat.item_category[row.item]]);
        w.ch(',');
        w.text(time_text[row.hour].data(), time_text[row.hour].size());
        w.end_row();
      }
      report.rows += rows_of_user[u];
    }
    w.flush();
    report.bytes = w.bytes();
  });
  report.users = o.users;
  report.distinct_items = std::count(item_seen.begin(), item_seen.end(), 1);
  report.distinct_categories = std::count(category_seen.begin(), category_seen.end(), 1);
  return report;
}

}  // namespace lti
