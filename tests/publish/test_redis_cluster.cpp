// Export into a real Redis Cluster (3 masters, 3 replicas, a password on every node): slot
// hashing, every user read back with redis-py's RedisCluster, a master killed during the
// export, slots moved during the export, the versioned layout, and clear refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lti/publish/redis_cluster.h"
#include "lti/publish/vector_writer.h"
#include "lti/util/rng.h"
#include "redis_cluster.h"
#include "test_util.h"

namespace lti {
namespace {

using test::RedisClusterServers;
using test::TempDir;

TEST(KeySlot, FollowsTheClusterSpecification) {
  EXPECT_EQ(crc16_xmodem("123456789", 9), 0x31C3);  // the XMODEM check value
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
  // Hash tags: only the first non-empty {...} counts.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), static_cast<int>(crc16_xmodem("foo{}{bar}", 10) % 16384));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("{unclosed"), static_cast<int>(crc16_xmodem("{unclosed", 9) % 16384));
}

struct Users {
  std::vector<uint64_t> ids;
  std::vector<float> values;
};

Users make_users(size_t n, size_t dim, uint64_t seed) {
  Users u;
  Rng rng(seed);
  for (size_t i = 0; i < n; ++i) u.ids.push_back(1000000 + i * 7);
  u.values.resize(n * dim);
  for (auto& x : u.values) x = static_cast<float>(rng.uniform() * 4 - 2);
  return u;
}

constexpr size_t kDim = 32;

// Everything a cluster test needs: the cluster (with a password) and a way to check every user.
class RedisClusterExport : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<RedisClusterServers>("cluster-secret");
    users_ = make_users(20000, kDim, 7);
  }

  std::unique_ptr<RedisClusterClient> client(double retry_seconds = 60) {
    return std::make_unique<RedisClusterClient>(
        std::vector<RedisAddress>{
            RedisAddress::parse("127.0.0.1:" + std::to_string(cluster_->port(0)))},
        cluster_->options(cluster_->port(0)), retry_seconds);
  }

  WriteOptions options(size_t batch = 1000) const {
    WriteOptions w;
    w.key_prefix = "u:";
    w.batch = batch;
    w.model_fingerprint = "model-a";
    return w;
  }

  // Every user read back through redis-py's RedisCluster from a live node, float32-equal to
  // the vectors written.
  void expect_every_user_read_back(const std::string& prefix = "u:") {
    TempDir dir;
    {
      std::ofstream out(dir.file("expected.tsv"));
      for (size_t i = 0; i < users_.ids.size(); ++i)
        out << prefix << users_.ids[i] << '\t'
            << encode_vector(&users_.values[i * kDim], kDim, VectorFormat::kJson) << '\n';
    }
    const size_t live = cluster_->masters().front();
    std::string out;
    const int status =
        test::run_command("REDISCLI_AUTH=" + cluster_->password() + " " + LTI_PYTHON + " " +
                              LTI_SOURCE_DIR + "/tests/python/read_cluster.py 127.0.0.1 " +
                              std::to_string(cluster_->port(live)) + " " + dir.file("expected.tsv"),
                          out);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("ok " + std::to_string(users_.ids.size())), std::string::npos) << out;
  }

  std::unique_ptr<RedisClusterServers> cluster_;
  Users users_;
};

TEST_F(RedisClusterExport, TwentyThousandUsersReadBackWithRedisPyAndCountedPerNode) {
  auto redis = client();
  const WriteReport report = write_vectors(*redis, users_.ids, users_.values, kDim, options());
  EXPECT_EQ(report.written, 20000u);
  expect_every_user_read_back();

  // Users per node: the three masters, each with about a third, summing to every user; and each
  // master holds what the report says it took (its DBSIZE, less the metadata key if it is there).
  ASSERT_EQ(report.per_node.size(), 3u);
  uint64_t sum = 0, keys = 0;
  for (const auto& [node, count] : report.per_node) {
    sum += count;
    EXPECT_GT(count, 5000u) << node;
  }
  EXPECT_EQ(sum, 20000u);
  for (const size_t m : cluster_->masters())
    keys += std::stoull(cluster_->query(cluster_->port(m), {"DBSIZE"}));
  EXPECT_EQ(keys, 20001u);  // + lti:meta

  // Our slots are the server's slots.
  for (size_t i = 0; i < users_.ids.size(); i += 997) {
    const std::string key = "u:" + std::to_string(users_.ids[i]);
    EXPECT_EQ(std::to_string(key_slot(key)),
              cluster_->query(cluster_->port(0), {"CLUSTER", "KEYSLOT", key}));
  }
  EXPECT_EQ(redis->command({"GET", "u:" + std::to_string(users_.ids[5])}),
            encode_vector(&users_.values[5 * kDim], kDim, VectorFormat::kJson));
}

// Passes batches to the cluster client and kills one master after a few of them: a crash in
// the middle of the export, at the same point on every run.
class KillMasterAfter final : public RedisStore {
 public:
  KillMasterAfter(RedisStore& inner, RedisClusterServers& cluster, size_t victim, int batches)
      : inner_(inner), cluster_(cluster), victim_(victim), batches_(batches) {}
  void send(std::vector<SetCommand> batch, int64_t ttl) override {
    if (batches_-- == 0) {
      // What the victim acknowledged reaches its replica first: otherwise Redis itself loses
      // it in the failover, and the test would measure the replication lag of a loaded
      // machine instead of the client's resending.
      cluster_.wait_until_replicated(victim_);
      cluster_.kill(victim_);
    }
    inner_.send(std::move(batch), ttl);
  }
  size_t acknowledge_oldest() override { return inner_.acknowledge_oldest(); }
  size_t in_flight() const override { return inner_.in_flight(); }
  std::string command(const std::vector<std::string>& args) override {
    return inner_.command(args);
  }
  void pipeline(const std::vector<std::vector<std::string>>& c) override { inner_.pipeline(c); }
  void for_each_key(const std::string& p, const KeyPage& page) override {
    inner_.for_each_key(p, page);
  }
  std::vector<std::pair<std::string, uint64_t>> written_per_node() const override {
    return inner_.written_per_node();
  }
  std::string activity() const override { return inner_.activity(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  RedisStore& inner_;
  RedisClusterServers& cluster_;
  size_t victim_;
  int batches_;
};

TEST_F(RedisClusterExport, MasterKilledDuringTheExportFailsOverAndEveryUserIsWritten) {
  auto redis = client();
  const std::vector<size_t> masters = cluster_->masters();
  ASSERT_EQ(masters.size(), 3u);
  const size_t victim = masters[1];
  KillMasterAfter killing(*redis, *cluster_, victim, 5);
  const WriteReport report =
      write_vectors(killing, users_.ids, users_.values, kDim, options(/*batch=*/500));
  EXPECT_EQ(report.written, 20000u);
  std::cout << redis->activity() << "\n";
  EXPECT_GE(redis->map_refreshes(), 2u);  // the first map, then the one after the failover
  // The replica took over: three masters again, none of them the dead one.
  const std::vector<size_t> after = cluster_->masters();
  EXPECT_EQ(after.size(), 3u);
  EXPECT_EQ(std::count(after.begin(), after.end(), victim), 0);
  uint64_t sum = 0;
  for (const auto& [node, count] : report.per_node) sum += count;
  EXPECT_EQ(sum, 20000u);  // each user counted once, on the node that acknowledged it
  expect_every_user_read_back();
}

TEST_F(RedisClusterExport, SlotsMovedDuringTheExportLoseNoUser) {
  auto redis = client();
  write_vectors(*redis, users_.ids, users_.values, kDim, options());  // keys to migrate
  const std::vector<size_t> masters = cluster_->masters();
  const std::string from = cluster_->node_id(masters[0]), to = cluster_->node_id(masters[1]);
  // redis-cli moves 2,000 slots key by key (MIGRATE) while the exports run: keys of a slot
  // being migrated are answered with ASK, a slot that moved with MOVED.
  std::atomic<bool> done{false};
  std::string reshard_output;
  int reshard_status = -1;
  std::thread reshard([&] {
    reshard_status = test::run_command(
        cluster_->cli_prefix() + "--cluster reshard 127.0.0.1:" +
            std::to_string(cluster_->port(masters[0])) + " --cluster-from " + from +
            " --cluster-to " + to + " --cluster-slots 2000 --cluster-yes --cluster-pipeline 10",
        reshard_output);
    done = true;
  });
  int exports = 0;
  Users second = make_users(20000, kDim, 8);  // new values, so that stale reads would show
  while (!done || exports == 0) {
    const WriteReport report =
        write_vectors(*redis, second.ids, second.values, kDim, options(/*batch=*/200));
    EXPECT_EQ(report.written, 20000u);
    ++exports;
  }
  reshard.join();
  ASSERT_EQ(reshard_status, 0) << reshard_output;
  write_vectors(*redis, second.ids, second.values, kDim, options(/*batch=*/200));
  std::cout << exports << " exports; " << redis->activity() << "\n";
  EXPECT_GT(redis->redirections(), 0u);  // the old map was wrong for 2,000 slots
  users_ = second;
  expect_every_user_read_back();
  // The moved slots are served by their new owner.
  cluster_->wait_until_healthy();
}

TEST_F(RedisClusterExport, VersionedLayoutSwitchesOnceAndTheOldKeysExpire) {
  auto redis = client();
  WriteOptions w = options();
  w.layout = KeyLayout::kVersioned;
  write_vectors(*redis, users_.ids, users_.values, kDim, w);
  w.model_fingerprint = "model-b";
  w.keep_previous_seconds = 3600;
  const WriteReport report = write_vectors(*redis, users_.ids, users_.values, kDim, w);
  EXPECT_TRUE(report.switched);
  EXPECT_EQ(report.previous_version, "model-a");
  EXPECT_EQ(report.previous_keys, 20001u);  // every user of model-a and its metadata key
  EXPECT_EQ(redis->command({"GET", "u:lti:current"}), "model-b");
  const std::string old_key = "u:model-a:" + std::to_string(users_.ids[123]);
  const int ttl = std::stoi(redis->command({"TTL", old_key}));
  EXPECT_GT(ttl, 3000);
  EXPECT_LE(ttl, 3600);
  EXPECT_EQ(redis->command({"TTL", "u:model-b:" + std::to_string(users_.ids[123])}), "-1");
  expect_every_user_read_back("u:model-b:");
}

TEST(RedisClusterDown,
     AMasterWithoutReplicaEndsTheExportWithinTheRetryTimeSayingHowManyWereWritten) {
  RedisClusterServers cluster("", /*masters=*/3, /*replicas=*/0);
  const Users users = make_users(3000, kDim, 9);
  RedisClusterClient redis({RedisAddress::parse("127.0.0.1:" + std::to_string(cluster.port(0)))},
                           cluster.options(cluster.port(0)), /*retry_seconds=*/2);
  cluster.kill(2);  // its slots have nobody to take them over
  WriteOptions w;
  w.batch = 500;
  try {
    write_vectors(redis, users.ids, users.values, kDim, w);
    ADD_FAILURE() << "the export succeeded without a third of the slots";
  } catch (const RedisError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("still not acknowledged after 2 s"), std::string::npos) << message;
    EXPECT_NE(message.find(" of 3000 users were written"), std::string::npos) << message;
  }
}

TEST_F(RedisClusterExport, ClearRefusals) {
  const RedisAddress seed = RedisAddress::parse("127.0.0.1:" + std::to_string(cluster_->port(0)));
  // One address is enough to detect the cluster.
  auto detected = open_redis({seed}, cluster_->options(cluster_->port(0)), false, 10);
  EXPECT_NE(dynamic_cast<RedisClusterClient*>(detected.get()), nullptr);
  EXPECT_NE(detected->describe().find("Redis Cluster"), std::string::npos);

  // A cluster has only database 0.
  RedisAddress with_db = seed;
  with_db.db = 3;
  try {
    open_redis({with_db}, cluster_->options(cluster_->port(0)), false, 10);
    ADD_FAILURE() << "a database other than 0 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("SELECT is refused in cluster mode"), std::string::npos)
        << e.what();
  }
  // The password is required on every node.
  RedisOptions no_password = cluster_->options(cluster_->port(0));
  no_password.password.clear();
  EXPECT_THROW(open_redis({seed}, no_password, true, 10), RedisError);

  // --cluster against a server that is not a cluster node says so.
  test::RedisServer plain;
  RedisOptions plain_options;
  plain_options.address.port = plain.port();
  try {
    open_redis({plain_options.address}, plain_options, true, 10);
    ADD_FAILURE() << "--cluster accepted a plain server";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("not a cluster node"), std::string::npos) << e.what();
  }
  // Without --cluster, the plain server is used as one server.
  auto single = open_redis({plain_options.address}, plain_options, false, 10);
  EXPECT_NE(dynamic_cast<RedisClient*>(single.get()), nullptr);
}

}  // namespace
}  // namespace lti
