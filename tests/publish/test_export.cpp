// `lti export` end to end against a real redis-server, checked against in-process vectors
// and read back by a real Python client as the original design does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include <nlohmann/json.hpp>

#include "lti/data/batch.h"
#include "lti/data/sequences.h"
#include "lti/model/tensor_batch.h"
#include "lti/model/user_vectors.h"
#include "lti/publish/redis_client.h"
#include "lti/publish/vector_writer.h"
#include "lti/train/trainer.h"
#include "model_fixtures.h"
#include "redis_server.h"

using namespace lti;

namespace {

class ExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    data_ = new Ingested(test::planted_data(*dir_, 80, 5000));
    TrainOptions o = test::tiny_train_options(dir_->file("model"), 1);
    o.train.batch_size = 16;
    Trainer(*data_, o).run();
    // The same batches (export's default on a CPU) and threads (1) as the export below, so
    // the in-process vectors are bit-for-bit the ones export computes.
    torch::set_num_threads(1);
    Encoders encoders;
    auto model = load_trained_model(dir_->file("model"), torch::kCPU, &encoders);
    vectors_ = new std::vector<float>(
        compute_user_vectors(*model, data_->data, /*batch_size=*/0, torch::kCPU));
  }
  static void TearDownTestSuite() {
    delete vectors_;
    delete data_;
    delete dir_;
  }

  std::string export_command(int port, const std::string& extra) const {
    return std::string(LTI_EXE) + " export --threads 1 --data_path " + dir_->file("train.csv") +
           " --save_dir " + dir_->file("model") + " --redis 127.0.0.1:" + std::to_string(port) +
           " " + extra;
  }
  const float* vector_of(size_t u) const { return &(*vectors_)[u * 16]; }

  static test::TempDir* dir_;
  static Ingested* data_;
  static std::vector<float>* vectors_;
};

test::TempDir* ExportTest::dir_ = nullptr;
Ingested* ExportTest::data_ = nullptr;
std::vector<float>* ExportTest::vectors_ = nullptr;

}  // namespace

TEST_F(ExportTest, EveryUserIsWrittenAndEqualsTheInProcessVector) {
  test::RedisServer server;
  std::string out;
  ASSERT_EQ(
      test::run_command(export_command(server.port(), "--key_prefix lti:u: --db 3 --ttl 600"), out),
      0)
      << out;
  EXPECT_NE(out.find("users expected 80, written 80, failed 0"), std::string::npos) << out;
  RedisOptions o;
  o.address.port = server.port();
  o.address.db = 3;
  RedisClient reader(o);
  EXPECT_EQ(reader.command({"DBSIZE"}), "81");
  for (size_t u = 0; u < data_->data.num_users(); ++u) {
    const auto json = nlohmann::json::parse(
        reader.command({"GET", "lti:u:" + std::to_string(data_->data.user_raw_id[u])}));
    ASSERT_EQ(json.size(), 16u);
    for (size_t i = 0; i < 16; ++i)
      ASSERT_EQ(static_cast<float>(json[i].get<double>()), vector_of(u)[i]) << u << " " << i;
  }
  // The in-process vectors above come from the batched code export itself runs; these come
  // from one user at a time, so a user paired with another user's vector cannot pass.
  auto model = load_trained_model(dir_->file("model"), torch::kCPU, nullptr);
  for (size_t u : {size_t{0}, size_t{13}, size_t{42}, size_t{79}}) {
    const std::vector<float> alone =
        compute_user_vectors(*model, data_->data, std::vector<size_t>{u}, 1, torch::kCPU);
    const auto json = nlohmann::json::parse(
        reader.command({"GET", "lti:u:" + std::to_string(data_->data.user_raw_id[u])}));
    for (size_t i = 0; i < 16; ++i)
      EXPECT_NEAR(json[i].get<double>(), alone[i], 1e-5) << "user " << u << " dim " << i;
  }
  EXPECT_GT(
      std::stoi(reader.command({"TTL", "lti:u:" + std::to_string(data_->data.user_raw_id[0])})),
      500);
  const auto meta = nlohmann::json::parse(reader.command({"GET", "lti:u:lti:meta"}));
  EXPECT_EQ(meta.at("users"), 80);
  EXPECT_EQ(meta.at("dimension"), 16);
}

TEST_F(ExportTest, F32FormatHoldsTheRawFloats) {
  test::RedisServer server;
  std::string out;
  ASSERT_EQ(test::run_command(export_command(server.port(), "--format f32"), out), 0) << out;
  RedisOptions o;
  o.address.port = server.port();
  RedisClient reader(o);
  const std::string raw = reader.command({"GET", std::to_string(data_->data.user_raw_id[5])});
  ASSERT_EQ(raw.size(), 16u * 4);
  EXPECT_EQ(std::memcmp(raw.data(), vector_of(5), raw.size()), 0);
}

TEST_F(ExportTest, PythonRedisClientReadsTheVectorAsTheOriginalDesignDoes) {
  std::string out;
  if (test::run_command(std::string(LTI_PYTHON) + " -c 'import redis'", out) != 0)
    LTI_SKIP_OR_FAIL_IN_CI("python3 cannot import redis: " + out);
  test::RedisServer server;
  ASSERT_EQ(test::run_command(export_command(server.port(), ""), out), 0) << out;
  const uint64_t user = data_->data.user_raw_id[11];
  const std::string script =
      "import redis, json; r = redis.Redis(port=" + std::to_string(server.port()) +
      "); vec = json.loads(r.get('" + std::to_string(user) + "')); print(json.dumps(vec))";
  ASSERT_EQ(test::run_command(std::string(LTI_PYTHON) + " -c \"" + script + "\"", out), 0) << out;
  const auto vec = nlohmann::json::parse(out);
  ASSERT_EQ(vec.size(), 16u);
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(static_cast<float>(vec[i].get<double>()), vector_of(11)[i]);
}

TEST_F(ExportTest, ClearErrorsForNoServerWrongPasswordAndMissingModel) {
  std::string out;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(test::run_command(export_command(test::free_loopback_port(), ""), out), 5) << out;
  EXPECT_NE(out.find("cannot connect to Redis"), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));

  test::RedisServer secured({"--requirepass", "pw1"});
  EXPECT_EQ(test::run_command("REDISCLI_AUTH=nope " + export_command(secured.port(), ""), out), 5)
      << out;
  EXPECT_NE(out.find("refused the password"), std::string::npos) << out;
  test::write_text(dir_->file("pw.txt"), "pw1\n");
  EXPECT_EQ(
      test::run_command(
          export_command(secured.port(), "--redis_password_file " + dir_->file("pw.txt")), out),
      0)
      << out;
  EXPECT_EQ(out.find("pw1"), std::string::npos) << "password printed: " << out;
  // A password in a redis:// URL: refused on the command line, accepted from a config file.
  const std::string url = "redis://:pw1@127.0.0.1:" + std::to_string(secured.port());
  const std::string base = std::string(LTI_EXE) + " --config " + dir_->file("c.toml") +
                           " export --threads 1 --data_path " + dir_->file("train.csv") +
                           " --save_dir " + dir_->file("model");
  test::write_text(dir_->file("c.toml"), "[export]\nkey_prefix = \"cfg:\"\n");
  EXPECT_EQ(test::run_command(base + " --redis " + url, out), 2) << out;
  EXPECT_NE(out.find("visible to every user"), std::string::npos) << out;
  test::write_text(dir_->file("c.toml"), "[export]\nredis = \"" + url + "\"\n");
  EXPECT_EQ(test::run_command(base, out), 0) << out;
  EXPECT_EQ(out.find("pw1"), std::string::npos) << "password printed: " << out;

  test::RedisServer server;
  const std::string no_model = std::string(LTI_EXE) + " export --data_path " +
                               dir_->file("train.csv") + " --save_dir " + dir_->file("nothing") +
                               " --redis 127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(test::run_command(no_model, out), 4) << out;
  EXPECT_NE(out.find("no trained model"), std::string::npos) << out;
}

// SPEC 3.4: padding is masked and never routed, so padding a batch to its longest member alone
// (what lti does) gives the vectors of padding to the original minimum lengths N_MIN and K_MIN.
TEST_F(ExportTest, PaddingOnlyToTheBatchLongestChangesNoVector) {
  torch::NoGradGuard no_grad;
  auto model = load_trained_model(dir_->file("model"), torch::kCPU, nullptr);
  const auto& c = model->config();
  // The 16 users with the shortest histories: their batch's longest is below N_MIN.
  std::vector<size_t> users(data_->data.num_users());
  std::iota(users.begin(), users.end(), 0);
  std::sort(users.begin(), users.end(), [&](size_t a, size_t b) {
    return data_->data.user_rows(a).size() < data_->data.user_rows(b).size();
  });
  std::vector<RowRange> longs, shorts;
  for (size_t i = 0; i < 16; ++i) {
    const UserSplit split = split_user(data_->data.user_rows(users[i]));
    longs.push_back(split.long_part);
    shorts.push_back(split.short_part.size() > 0 ? split.short_part : split.long_part);
  }
  const auto encode = [&](const std::vector<RowRange>& parts, size_t max_len, size_t min_len,
                          bool long_tower) {
    const SequenceBatch b = make_batch(data_->data, parts, max_len, min_len);
    const BatchTensors t = BatchTensors::from(b, torch::kCPU);
    return std::pair{b.length, long_tower ? model->encode_long(t) : model->encode_short(t)};
  };
  const auto [long_min, long_with_min] =
      encode(longs, static_cast<size_t>(c.n_max), kLongMinLength, true);
  const auto [long_own, long_alone] =
      encode(longs, static_cast<size_t>(c.n_max), kBatchLongest, true);
  const auto [short_min, short_with_min] =
      encode(shorts, static_cast<size_t>(c.k_max), kShortMinLength, false);
  const auto [short_own, short_alone] =
      encode(shorts, static_cast<size_t>(c.k_max), kBatchLongest, false);
  ASSERT_EQ(long_min, static_cast<int64_t>(kLongMinLength));
  ASSERT_LT(long_own, long_min);  // the comparison is not empty: less padding
  ASSERT_LT(short_own, short_min);
  EXPECT_TRUE(torch::allclose(long_alone, long_with_min, 1e-5, 1e-5))
      << (long_alone - long_with_min).abs().max().item<float>();
  EXPECT_TRUE(torch::allclose(short_alone, short_with_min, 1e-5, 1e-5))
      << (short_alone - short_with_min).abs().max().item<float>();
}
