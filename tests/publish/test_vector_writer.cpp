// Writing vectors to a real redis-server: formats, prefix, db, TTL, AUTH, lost connections.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "lti/publish/redis_client.h"
#include "lti/publish/vector_writer.h"
#include "lti/util/rng.h"
#include "redis_server.h"

using namespace lti;

namespace {

struct Vectors {
  std::vector<uint64_t> ids;
  std::vector<float> values;
};

Vectors random_vectors(size_t users, size_t dim, uint64_t seed = 1) {
  Vectors v;
  Rng rng(seed);
  for (size_t u = 0; u < users; ++u) v.ids.push_back(10000000 + u * 37);
  for (size_t i = 0; i < users * dim; ++i)
    v.values.push_back(
        static_cast<float>((rng.uniform() - 0.5) * std::pow(10.0, rng.below(9) - 4.0)));
  return v;
}

RedisOptions options_for(int port, int db = 0) {
  RedisOptions o;
  o.address.port = port;
  o.address.db = db;
  o.first_backoff_seconds = 0.05;
  o.timeout_seconds = 2;
  return o;
}

std::vector<float> parse_json_vector(const std::string& text) {
  std::vector<float> out;
  for (const auto& x : nlohmann::json::parse(text))
    out.push_back(static_cast<float>(x.get<double>()));
  return out;
}

}  // namespace

TEST(VectorFormat, JsonRoundTripsEveryFloatExactly) {
  const float values[] = {0.1f,  -1.0f / 3.0f, 1e-30f,         3.4028235e38f,
                          -0.0f, 123456.789f,  1.17549435e-38f};
  const std::string text = encode_vector(values, 7, VectorFormat::kJson);
  EXPECT_EQ(text.front(), '[');
  const auto back = parse_json_vector(text);
  ASSERT_EQ(back.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(back[i], values[i]) << text;
  EXPECT_EQ(encode_vector(values, 1, VectorFormat::kJson), "[0.1]");
  const std::string raw = encode_vector(values, 7, VectorFormat::kF32);
  ASSERT_EQ(raw.size(), 28u);
  EXPECT_EQ(std::memcmp(raw.data(), values, 28), 0);
}

TEST(RedisAddress, ParsesHostPortUrlsAndPasswords) {
  EXPECT_EQ(RedisAddress::parse("localhost:6380").to_string(), "127.0.0.1:6380/0");
  EXPECT_EQ(RedisAddress::parse("redis://10.0.0.5:7000/3").to_string(), "10.0.0.5:7000/3");
  EXPECT_EQ(RedisAddress::parse("redis://cache").to_string(), "cache:6379/0");
  const RedisAddress secured = RedisAddress::parse("redis://:secret@host:6380/2");
  EXPECT_EQ(secured.password, "secret");
  EXPECT_EQ(secured.to_string(), "host:6380/2");  // never shows the password
  EXPECT_EQ(RedisAddress::parse("redis://default:pw@h").password, "pw");
  EXPECT_THROW(RedisAddress::parse("host:notaport"), Error);
  EXPECT_THROW(RedisAddress::parse("redis://host:6379/x"), Error);
}

TEST(VectorWriter, WritesEveryUserWithPrefixDbTtlAndMetadataLast) {
  test::RedisServer server;
  const Vectors v = random_vectors(2500, 16);
  RedisClient client(options_for(server.port(), 2));
  WriteOptions w;
  w.key_prefix = "u:";
  w.ttl_seconds = 3600;
  w.model_fingerprint = "abc";
  const WriteReport report = write_vectors(client, v.ids, v.values, 16, w);
  EXPECT_EQ(report.written, 2500u);

  RedisClient reader(options_for(server.port(), 2));
  EXPECT_EQ(reader.command({"DBSIZE"}), "2501");
  for (size_t u = 0; u < v.ids.size(); u += 97) {
    const auto got = parse_json_vector(reader.command({"GET", "u:" + std::to_string(v.ids[u])}));
    ASSERT_EQ(got.size(), 16u);
    for (size_t i = 0; i < 16; ++i) EXPECT_EQ(got[i], v.values[u * 16 + i]);
  }
  const int ttl = std::stoi(reader.command({"TTL", "u:" + std::to_string(v.ids[3])}));
  EXPECT_GT(ttl, 3000);
  EXPECT_LE(ttl, 3600);
  const auto meta = nlohmann::json::parse(reader.command({"GET", "u:lti:meta"}));
  EXPECT_EQ(meta.at("dimension"), 16);
  EXPECT_EQ(meta.at("users"), 2500);
  EXPECT_EQ(meta.at("model_fingerprint"), "abc");
  RedisClient db0(options_for(server.port(), 0));
  EXPECT_EQ(db0.command({"DBSIZE"}), "0");
}

TEST(VectorWriter, F32ValuesAreTheRawFloats) {
  test::RedisServer server;
  const Vectors v = random_vectors(10, 8);
  RedisClient client(options_for(server.port()));
  WriteOptions w;
  w.format = VectorFormat::kF32;
  write_vectors(client, v.ids, v.values, 8, w);
  const std::string raw = client.command({"GET", std::to_string(v.ids[4])});
  ASSERT_EQ(raw.size(), 32u);
  EXPECT_EQ(std::memcmp(raw.data(), &v.values[4 * 8], 32), 0);
}

TEST(RedisClient, PasswordRightAndWrong) {
  test::RedisServer server({"--requirepass", "s3cret"});
  RedisOptions o = options_for(server.port());
  try {
    RedisClient no_password(o);
    FAIL() << "expected NOAUTH";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("REDISCLI_AUTH"), std::string::npos) << e.what();
  }
  o.password = "wrong";
  try {
    RedisClient wrong(o);
    FAIL() << "expected a refused password";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("refused the password"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("wrong"), std::string::npos)
        << "the password leaked: " << e.what();
  }
  o.password = "s3cret";
  RedisClient right(o);
  EXPECT_EQ(right.command({"PING"}), "PONG");
}

TEST(RedisClient, NoServerIsAClearErrorQuickly) {
  RedisOptions o = options_for(test::free_loopback_port());
  const auto start = std::chrono::steady_clock::now();
  try {
    RedisClient c(o);
    FAIL() << "expected a connection error";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to Redis at 127.0.0.1:"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(e.code(), kExitRedis);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(VectorWriter, ConnectionLostMidExportLosesNothingAndKeepsAuthDbAndTtl) {
  // A password, --db 3 and a TTL: after the reconnect all three must still be in force. The
  // connection is cut by a proxy after exactly 5,002 bytes of replies (AUTH's and SELECT's +OK,
  // then 998 SETs and 2 bytes of the next +OK): mid-batch and mid-reply, on every machine.
  test::RedisServer server({"--requirepass", "s3cret"});
  test::CuttingProxy proxy(server.port(), 5002);
  const Vectors v = random_vectors(20000, 32);
  RedisOptions o = options_for(proxy.port(), 3);
  o.password = "s3cret";
  o.max_retries = 4;
  RedisClient client(o);
  WriteOptions w;
  w.batch = 500;
  w.ttl_seconds = 600;
  const WriteReport report = write_vectors(client, v.ids, v.values, 32, w);
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(client.reconnects(), 1u);
  EXPECT_EQ(report.written, 20000u);

  RedisOptions direct = options_for(server.port(), 3);
  direct.password = "s3cret";
  RedisClient reader(direct);
  EXPECT_EQ(reader.command({"DBSIZE"}), "20001");  // every user and the metadata key
  // No key without its TTL (TTL -1), in a single server-side pass.
  EXPECT_EQ(reader.command({"EVAL",
                            "local n = 0 for _, k in ipairs(redis.call('KEYS', '*')) do "
                            "if redis.call('TTL', k) < 0 then n = n + 1 end end return n",
                            "0"}),
            "0");
  for (size_t u = 0; u < v.ids.size(); u += 997) {
    const auto got = parse_json_vector(reader.command({"GET", std::to_string(v.ids[u])}));
    ASSERT_EQ(got.size(), 32u);
    for (size_t i = 0; i < 32; ++i) EXPECT_EQ(got[i], v.values[u * 32 + i]);
  }
  EXPECT_EQ(reader.command({"EXISTS", "lti:meta"}), "1");
  RedisClient db0([&] {
    RedisOptions d = options_for(server.port(), 0);
    d.password = "s3cret";
    return d;
  }());
  EXPECT_EQ(db0.command({"DBSIZE"}), "0");  // nothing went to the default database
}

TEST(VectorWriter, ServerRestartedMidExportLosesNothing) {
  // A real restart (the snapshot keeps the acknowledged keys), after the first batches are in.
  test::RedisServer server({"--save", "3600 1"});
  const Vectors v = random_vectors(60000, 32);
  RedisOptions o = options_for(server.port());
  o.max_retries = 8;
  RedisClient client(o);
  WriteOptions w;
  w.batch = 500;
  // The first 2,000 users, then the restart, then the whole export on the same client: its
  // connection is dead, so the first batch must reconnect and be sent again.
  write_vectors(client, std::vector<uint64_t>(v.ids.begin(), v.ids.begin() + 2000),
                std::vector<float>(v.values.begin(), v.values.begin() + 2000 * 32), 32, w);
  server.stop(/*graceful=*/true);
  server.start();
  const WriteReport report = write_vectors(client, v.ids, v.values, 32, w);
  EXPECT_EQ(report.written, 60000u);
  EXPECT_GE(client.reconnects(), 1u);
  RedisClient reader(o);
  EXPECT_EQ(reader.command({"DBSIZE"}), "60001");
  for (size_t u = 0; u < v.ids.size(); u += 1999) {
    const auto got = parse_json_vector(reader.command({"GET", std::to_string(v.ids[u])}));
    ASSERT_EQ(got.size(), 32u);
    EXPECT_EQ(got[31], v.values[u * 32 + 31]);
  }
  EXPECT_EQ(reader.command({"EXISTS", "lti:meta"}), "1");
}

TEST(VectorWriter, ServerGoneForGoodSaysHowManyUsersWereWritten) {
  auto server = std::make_unique<test::RedisServer>();
  const Vectors v = random_vectors(3000, 8);
  RedisOptions o = options_for(server->port());
  o.max_retries = 2;
  RedisClient client(o);
  WriteOptions w;
  w.batch = 1000;
  write_vectors(client, std::vector<uint64_t>(v.ids.begin(), v.ids.begin() + 1000),
                std::vector<float>(v.values.begin(), v.values.begin() + 8000), 8, w);
  server.reset();
  try {
    write_vectors(client, v.ids, v.values, 8, w);
    FAIL() << "expected an error";
  } catch (const RedisError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("0 of 3000 users were written"), std::string::npos) << what;
    EXPECT_NE(what.find("rerunning the export is safe"), std::string::npos) << what;
  }
}

TEST(VectorWriter, OutOfMemoryServerStopsTheExportWithTheCountWritten) {
  test::RedisServer server({"--maxmemory", "1mb", "--maxmemory-policy", "noeviction"});
  RedisClient client(options_for(server.port()));
  const Vectors v = random_vectors(20000, 32);
  try {
    write_vectors(client, v.ids, v.values, 32, {});
    FAIL() << "expected OOM";
  } catch (const RedisError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("OOM command not allowed"), std::string::npos) << what;
    EXPECT_NE(what.find(" of 20000 users were written; rerunning the export is safe"),
              std::string::npos)
        << what;
    EXPECT_EQ(e.code(), kExitRedis);
  }
}

TEST(VectorWriter, RedisErrorRepliesAreReported) {
  test::RedisServer server({"--replicaof", "127.0.0.1", "1"});  // a read-only replica
  RedisClient client(options_for(server.port()));
  const Vectors v = random_vectors(5, 4);
  try {
    write_vectors(client, v.ids, v.values, 4, {});
    FAIL() << "expected READONLY";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("READONLY"), std::string::npos) << e.what();
  }
}
