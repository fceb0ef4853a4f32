#include <gtest/gtest.h>

#include <map>
#include <set>

#include "lti/data/dataset.h"
#include "lti/data/sequences.h"
#include "lti/data/synth.h"
#include "lti/util/errors.h"
#include "test_util.h"

using namespace lti;

namespace {

SynthOptions small_options() {
  SynthOptions o;
  o.users = 300;
  o.rows = 60000;
  o.items = 15000;
  o.categories = 200;
  o.seed = 11;
  return o;
}

}  // namespace

TEST(Synth, SameSeedSameBytesOtherSeedOtherBytes) {
  lti::test::TempDir dir;
  SynthOptions o = small_options();
  o.rows = 5000;
  synthesize(o, dir.file("a.csv"));
  synthesize(o, dir.file("b.csv"));
  o.seed = 12;
  synthesize(o, dir.file("c.csv"));
  const std::string a = lti::test::read_text(dir.file("a.csv"));
  EXPECT_EQ(a, lti::test::read_text(dir.file("b.csv")));
  EXPECT_NE(a, lti::test::read_text(dir.file("c.csv")));
  EXPECT_EQ(a.rfind("user_id,item_id,behavior_type,user_geohash,item_category,time\n", 0), 0u);
}

TEST(Synth, MarginalsAreWithinToleranceOfTargets) {
  lti::test::TempDir dir;
  const SynthOptions o = small_options();
  const SynthReport report = synthesize(o, dir.file("s.csv"));
  EXPECT_EQ(report.rows, o.rows);
  EXPECT_EQ(report.users, o.users);

  ReadStats stats;
  const RawInteractions rows = read_interactions(dir.file("s.csv"), {}, stats);
  ASSERT_EQ(rows.size(), o.rows);
  EXPECT_EQ(stats.rows_skipped, 0u);
  const Encoders enc = Encoders::fit(rows, 1);
  EXPECT_EQ(enc.user.num_known(), o.users);
  EXPECT_EQ(enc.item.num_known(), report.distinct_items);
  // Most of the catalogue is seen, as in the real data where most items appear a few times.
  EXPECT_GT(enc.item.num_known(), o.items * 6 / 10);
  EXPECT_LE(enc.item.num_known(), o.items);
  EXPECT_LE(enc.category.num_known(), o.categories);

  std::array<double, 5> behavior{};
  std::array<double, 24> hour{};
  for (size_t i = 0; i < rows.size(); ++i) {
    behavior[rows.behavior[i]] += 1.0 / rows.size();
    hour[hour_of_day(rows.time[i])] += 1.0 / rows.size();
    EXPECT_GE(rows.time[i], *parse_hour("2014-11-18 00"));
    EXPECT_LE(rows.time[i], *parse_hour("2014-12-18 23"));
  }
  EXPECT_NEAR(behavior[1], 0.9423, 0.01);
  EXPECT_NEAR(behavior[2], 0.0210, 0.005);
  EXPECT_NEAR(behavior[3], 0.0278, 0.005);
  EXPECT_NEAR(behavior[4], 0.0089, 0.004);
  EXPECT_GT(hour[21], 3 * hour[4]);  // evenings busy, small hours quiet

  const std::string text = lti::test::read_text(dir.file("s.csv"));
  const size_t empty_geohash = [&] {
    size_t n = 0;
    for (size_t p = text.find(",,"); p != std::string::npos; p = text.find(",,", p + 2)) ++n;
    return n;
  }();
  EXPECT_NEAR(static_cast<double>(empty_geohash) / o.rows, 0.68, 0.03);

  // Heavy-tailed activity: the busiest user has several times the median.
  const EncodedDataset ds = EncodedDataset::build(rows, enc);
  std::vector<uint64_t> lengths;
  for (size_t u = 0; u < ds.num_users(); ++u) lengths.push_back(ds.user_rows(u).size());
  std::sort(lengths.begin(), lengths.end());
  EXPECT_GT(lengths.back(), 4 * lengths[lengths.size() / 2]);
  EXPECT_GE(lengths.front(), 2u);
}

TEST(Synth, PlantedInterestsPersistFromLongToShortPart) {
  lti::test::TempDir dir;
  const SynthOptions o = small_options();
  synthesize(o, dir.file("s.csv"));
  ReadStats stats;
  const RawInteractions rows = read_interactions(dir.file("s.csv"), {}, stats);
  const EncodedDataset ds = EncodedDataset::build(rows, Encoders::fit(rows, 1));

  // Share of a user's short-part rows whose category is among the 4 most frequent categories
  // of the long part: of the same user, and of another user.
  auto top_categories = [&](RowRange r) {
    std::map<uint32_t, int> count;
    for (uint64_t i = r.begin; i < r.end; ++i) ++count[ds.category[i]];
    std::vector<std::pair<int, uint32_t>> by_count;
    for (auto [c, n] : count) by_count.push_back({-n, c});
    std::sort(by_count.begin(), by_count.end());
    std::set<uint32_t> top;
    for (size_t i = 0; i < by_count.size() && i < 4; ++i) top.insert(by_count[i].second);
    return top;
  };
  double own = 0, other = 0;
  size_t users = 0;
  for (size_t u = 0; u < ds.num_users(); ++u) {
    const UserSplit s = split_user(ds.user_rows(u));
    const UserSplit t = split_user(ds.user_rows((u + 1) % ds.num_users()));
    if (!s.trainable() || !t.trainable()) continue;
    const auto top = top_categories(s.long_part);
    auto share = [&](RowRange r) {
      double hit = 0;
      for (uint64_t i = r.begin; i < r.end; ++i) hit += top.count(ds.category[i]);
      return hit / r.size();
    };
    own += share(s.short_part);
    other += share(t.short_part);
    ++users;
  }
  own /= users;
  other /= users;
  EXPECT_GT(own, 0.5);
  EXPECT_GT(own, 3 * other);
}

TEST(Synth, RevisitShareZeroMakesARatingsLogWithoutRepeats) {
  lti::test::TempDir dir;
  auto repeated_rows = [&](double revisit_share) {
    SynthOptions o = small_options();
    o.rows = 20000;
    o.revisit_share = revisit_share;
    synthesize(o, dir.file("r.csv"));
    ReadStats stats;
    const RawInteractions rows = read_interactions(dir.file("r.csv"), {}, stats);
    std::set<std::pair<uint64_t, uint64_t>> seen;
    size_t repeats = 0;
    for (size_t i = 0; i < rows.size(); ++i)
      repeats += !seen.insert({rows.user[i], rows.item[i]}).second;
    return static_cast<double>(repeats) / rows.size();
  };
  EXPECT_GT(repeated_rows(0.25), 0.2);  // click logs: a quarter of the rows revisit
  EXPECT_EQ(repeated_rows(0.0), 0.0);   // ratings logs: each item once per user

  SynthOptions bad = small_options();
  bad.revisit_share = 1.0;
  EXPECT_THROW(bad.validate(), Error);
}
