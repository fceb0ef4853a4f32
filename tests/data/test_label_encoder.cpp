#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "lti/data/dataset.h"
#include "lti/util/errors.h"
#include "lti/util/rng.h"
#include "test_util.h"

using namespace lti;

TEST(LabelEncoder, KnownValuesFromTwoInAscendingRawOrder) {
  LabelEncoder enc("item");
  enc.fit({50, 7, 50, 900, 7, 3});
  EXPECT_EQ(enc.num_known(), 4u);
  EXPECT_EQ(enc.table_size(), 6u);
  EXPECT_EQ(enc.encode(3), 2u);
  EXPECT_EQ(enc.encode(7), 3u);
  EXPECT_EQ(enc.encode(50), 4u);
  EXPECT_EQ(enc.encode(900), 5u);
  EXPECT_EQ(enc.encode(12345), LabelEncoder::kUnknown);
  EXPECT_EQ(enc.decode(4), 50u);
}

TEST(LabelEncoder, MinCountSendsRareValuesToUnknown) {
  LabelEncoder enc("item");
  enc.fit({5, 5, 6, 7, 7, 7, 8}, /*min_count=*/2);
  EXPECT_EQ(enc.num_known(), 2u);
  EXPECT_EQ(enc.encode(5), 2u);
  EXPECT_EQ(enc.encode(7), 3u);
  EXPECT_EQ(enc.encode(6), LabelEncoder::kUnknown);
  EXPECT_EQ(enc.encode(8), LabelEncoder::kUnknown);
}

TEST(LabelEncoder, ShufflingRowsChangesNoIndex) {
  RawInteractions rows;
  Rng rng(7);
  for (int i = 0; i < 5000; ++i) {
    rows.user.push_back(rng.below(100) * 1000 + 17);
    rows.item.push_back(rng.below(3000) * 77);
    rows.category.push_back(rng.below(40));
    rows.behavior.push_back(1);
    rows.time.push_back(0);
  }
  RawInteractions shuffled = rows;
  std::vector<size_t> perm(rows.size());
  std::iota(perm.begin(), perm.end(), 0);
  for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  for (size_t i = 0; i < perm.size(); ++i) {
    shuffled.user[i] = rows.user[perm[i]];
    shuffled.item[i] = rows.item[perm[i]];
    shuffled.category[i] = rows.category[perm[i]];
  }
  const Encoders a = Encoders::fit(rows, 2), b = Encoders::fit(shuffled, 2);
  EXPECT_EQ(a.user.known_raw_ids(), b.user.known_raw_ids());
  EXPECT_EQ(a.item.known_raw_ids(), b.item.known_raw_ids());
  EXPECT_EQ(a.category.known_raw_ids(), b.category.known_raw_ids());
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(a.item.encode(rows.item[i]), b.item.encode(rows.item[i]));
}

TEST(LabelEncoder, SaveLoadRoundTrip) {
  lti::test::TempDir dir;
  LabelEncoder enc("category");
  enc.fit({18446744073709551615ULL, 0, 42, 42, 9}, 1);
  enc.save(dir.file("enc.txt"));
  EXPECT_EQ(lti::test::read_text(dir.file("enc.txt")),
            "# lti-encoder v1 name=category known=4 min_count=1\n0\n9\n42\n18446744073709551615\n");
  const LabelEncoder back = LabelEncoder::load(dir.file("enc.txt"));
  EXPECT_EQ(back.name(), "category");
  EXPECT_EQ(back.known_raw_ids(), enc.known_raw_ids());
  EXPECT_EQ(back.encode(18446744073709551615ULL), 5u);
  EXPECT_EQ(back.encode(0), 2u);
}

TEST(LabelEncoder, LoadRejectsTruncatedAndForeignFiles) {
  lti::test::TempDir dir;
  lti::test::write_text(dir.file("t.txt"),
                        "# lti-encoder v1 name=item known=3 min_count=1\n1\n2\n");
  EXPECT_THROW(LabelEncoder::load(dir.file("t.txt")), ModelError);
  lti::test::write_text(dir.file("f.txt"), "user_id,item_id\n");
  EXPECT_THROW(LabelEncoder::load(dir.file("f.txt")), ModelError);
  lti::test::write_text(dir.file("g.txt"),
                        "# lti-encoder v1 name=item known=2 min_count=1\n1\nx\n");
  EXPECT_THROW(LabelEncoder::load(dir.file("g.txt")), ModelError);
  EXPECT_THROW(LabelEncoder::load(dir.file("missing.txt")), ModelError);
}
