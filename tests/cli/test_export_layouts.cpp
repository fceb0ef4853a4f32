// `lti export --layout versioned` (an atomic switch between models) and `--since` (refresh only
// the active users), through the executable against a real redis-server.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "lti/publish/redis_client.h"
#include "lti/publish/redis_cluster.h"
#include "lti/util/errors.h"
#include "lti/util/time_util.h"
#include "redis_cluster.h"
#include "redis_server.h"
#include "test_util.h"

using lti::test::read_text;
using lti::test::run_command;
using lti::test::TempDir;

namespace {

const std::string kLti = LTI_EXE;
const std::string kTinyModel = lti::test::kTinyModelFlags + " --hidden_dim 16";

// Data, and two models trained on it with different seeds (two fingerprints).
class ExportLayouts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    std::string out;
    ASSERT_EQ(run_command(kLti + " synth -o " + dir_->file("data/train.csv") +
                              " --users 300 --rows 9000 --items 600 --categories 20",
                          out),
              0)
        << out;
    for (const auto& [name, seed] : {std::pair{"a", "1"}, std::pair{"b", "2"}})
      ASSERT_EQ(
          run_command(kLti + " train --epochs 1 --seed " + seed + kTinyModel + " --data_path " +
                          dir_->file("data") + " --save_dir " + dir_->file(name),
                      out),
          0)
          << out;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string export_args(const std::string& model, int port, const std::string& extra) {
    return kLti + " export --threads 1 --data_path " + dir_->file("data") + " --save_dir " +
           dir_->file(model) + " --redis 127.0.0.1:" + std::to_string(port) + " " + extra;
  }
  static lti::RedisClient client(int port) {
    lti::RedisOptions o;
    o.address.port = port;
    return lti::RedisClient(o);
  }
  // Raw user ids and the last interaction hour of each, from the CSV.
  static std::map<std::string, lti::UnixHour> last_hour_of_users() {
    std::map<std::string, lti::UnixHour> last;
    std::istringstream csv(read_text(dir_->file("data/train.csv")));
    std::string line;
    std::getline(csv, line);  // header
    while (std::getline(csv, line)) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
      const lti::UnixHour t = *lti::parse_hour(f.at(5));
      auto [it, fresh] = last.emplace(f.at(0), t);
      if (!fresh) it->second = std::max(it->second, t);
    }
    return last;
  }

  static TempDir* dir_;
};

TempDir* ExportLayouts::dir_ = nullptr;

}  // namespace

TEST_F(ExportLayouts, VersionedReadersNeverSeeAMixAndTheOldVersionExpires) {
  lti::test::RedisServer server;
  std::string out;
  ASSERT_EQ(
      run_command(export_args("a", server.port(), "--layout versioned --keep_previous 600"), out),
      0)
      << out;
  auto admin = client(server.port());
  const std::string version_a = admin.command({"GET", "lti:current"});
  ASSERT_EQ(version_a.size(), 16u) << out;
  const auto users = last_hour_of_users();
  std::vector<std::string> ids;
  for (const auto& [id, hour] : users) ids.push_back(id);

  // A reader polls while the second model is exported: it reads lti:current, then users' keys
  // of that version, as the README's reader does.
  std::atomic<bool> done{false};
  std::vector<std::tuple<std::string, std::string, std::string>> seen;  // version, user, value
  std::thread reader([&] {
    auto r = client(server.port());
    for (size_t i = 0; !done; ++i) {
      const std::string version = r.command({"GET", "lti:current"});
      const std::string& id = ids[i % ids.size()];
      seen.emplace_back(version, id, r.command({"GET", version + ":" + id}));
    }
  });
  const int code = run_command(
      export_args("b", server.port(), "--layout versioned --keep_previous 600 --write_batch 20"),
      out);
  done = true;
  reader.join();
  ASSERT_EQ(code, 0) << out;
  const std::string version_b = admin.command({"GET", "lti:current"});
  ASSERT_NE(version_b, version_a);
  EXPECT_NE(out.find("lti:current now names version " + version_b + "; the 301 key(s) of version " +
                     version_a + " expire in 600 s"),
            std::string::npos)
      << out;

  // Every read found the user under the version lti:current named, with that version's vector.
  std::set<std::string> versions_seen;
  for (const auto& [version, id, value] : seen) {
    ASSERT_NE(value, "(nil)") << "user " << id << " missing under version " << version;
    ASSERT_EQ(value, admin.command({"GET", version + ":" + id})) << id;
    versions_seen.insert(version);
  }
  EXPECT_GT(seen.size(), 10u);
  EXPECT_EQ(versions_seen.count(version_a), 1u);  // it read the old model during the export
  // The two models' vectors differ: a mix would have been visible.
  EXPECT_NE(admin.command({"GET", version_a + ":" + ids[0]}),
            admin.command({"GET", version_b + ":" + ids[0]}));

  // The old version's keys expire; the new one's do not.
  for (const std::string& id : {ids[0], ids[150], ids[299]}) {
    const int old_ttl = std::stoi(admin.command({"TTL", version_a + ":" + id}));
    EXPECT_GT(old_ttl, 0);
    EXPECT_LE(old_ttl, 600);
    EXPECT_EQ(admin.command({"TTL", version_b + ":" + id}), "-1");
  }
  EXPECT_EQ(admin.command({"DBSIZE"}), std::to_string(2 * 301 + 1));  // two versions + current
}

TEST_F(ExportLayouts, SinceRewritesExactlyTheActiveUsersAndRefusesAnotherModel) {
  lti::test::RedisServer server;
  std::string out;
  ASSERT_EQ(run_command(export_args("a", server.port(), ""), out), 0) << out;
  auto admin = client(server.port());
  const auto users = last_hour_of_users();
  ASSERT_EQ(users.size(), 300u);
  // The median last hour: about half the users are active since then.
  std::vector<lti::UnixHour> last;
  for (const auto& [id, hour] : users) last.push_back(hour);
  std::sort(last.begin(), last.end());
  const lti::UnixHour since = last[last.size() / 2];
  size_t active = 0;
  // A marker on every user key: what --since rewrites loses it.
  for (const auto& [id, hour] : users) {
    admin.command({"SET", id, "marker"});
    active += hour >= since;
  }
  ASSERT_GT(active, 50u);
  ASSERT_LT(active, 250u);

  // Another model is refused, and writes nothing.
  const std::string since_flag = "--since '" + lti::format_hour(since) + "'";
  EXPECT_EQ(run_command(export_args("b", server.port(), since_flag), out), 4) << out;
  EXPECT_NE(out.find("--since: Redis holds the vectors of another model"), std::string::npos)
      << out;
  for (const auto& [id, hour] : users) ASSERT_EQ(admin.command({"GET", id}), "marker") << id;

  ASSERT_EQ(run_command(export_args("a", server.port(), since_flag), out), 0) << out;
  EXPECT_NE(out.find("refresh since " + lti::format_hour(since) + ": " + std::to_string(active) +
                     " user(s) recomputed, " + std::to_string(300 - active) + " skipped"),
            std::string::npos)
      << out;
  for (const auto& [id, hour] : users) {
    const std::string value = admin.command({"GET", id});
    if (hour >= since)
      EXPECT_EQ(value.front(), '[') << "active user " << id << " not rewritten";
    else
      EXPECT_EQ(value, "marker") << "inactive user " << id << " rewritten";
  }

  // Without a model in Redis there is nothing to refresh.
  lti::test::RedisServer empty;
  EXPECT_EQ(run_command(export_args("a", empty.port(), since_flag), out), 4) << out;
  EXPECT_NE(out.find("Redis holds no exported model (lti:meta is missing)"), std::string::npos)
      << out;
  EXPECT_EQ(run_command(export_args("a", empty.port(), "--since yesterday"), out), 2) << out;
}

TEST_F(ExportLayouts, IntoAClusterFoundFromOneAddressEqualToOneServer) {
  lti::test::RedisServer single;
  lti::test::RedisClusterServers cluster("cluster-secret");
  std::string out;
  ASSERT_EQ(run_command(export_args("a", single.port(), ""), out), 0) << out;
  const std::string auth = "REDISCLI_AUTH=" + cluster.password() + " ";
  // One node's address: the cluster is detected and written through its slot map.
  ASSERT_EQ(run_command(auth + export_args("a", cluster.port(0), "--layout versioned"), out), 0)
      << out;
  EXPECT_NE(out.find("is a Redis Cluster node"), std::string::npos) << out;
  EXPECT_NE(out.find("users expected 300, written 300, failed 0"), std::string::npos) << out;
  const size_t per_node = out.find("users per node: ");
  ASSERT_NE(per_node, std::string::npos) << out;
  EXPECT_EQ(
      std::count(out.begin() + static_cast<std::ptrdiff_t>(per_node),
                 std::find(out.begin() + static_cast<std::ptrdiff_t>(per_node), out.end(), '\n'),
                 ','),
      2)
      << out;  // three masters

  // Every user's vector in the cluster equals the one-server export's.
  auto one = client(single.port());
  lti::RedisClusterClient reader(
      {lti::RedisAddress::parse("127.0.0.1:" + std::to_string(cluster.port(3)))},
      cluster.options(cluster.port(3)));
  const std::string version = reader.command({"GET", "lti:current"});
  ASSERT_EQ(version.size(), 16u);
  for (const auto& [id, hour] : last_hour_of_users())
    ASSERT_EQ(reader.command({"GET", version + ":" + id}), one.command({"GET", id})) << id;

  // A cluster has only database 0; a node that is not a cluster's with --cluster is refused.
  EXPECT_EQ(run_command(auth + export_args("a", cluster.port(0), "--db 2"), out), lti::kExitUsage)
      << out;
  EXPECT_NE(out.find("SELECT is refused in cluster mode"), std::string::npos) << out;
  EXPECT_EQ(run_command(export_args("a", single.port(), "--cluster"), out), lti::kExitRedis) << out;
  EXPECT_NE(out.find("not a cluster node"), std::string::npos) << out;
  // Without the password the cluster refuses, clearly.
  EXPECT_EQ(run_command(export_args("a", cluster.port(0), ""), out), lti::kExitRedis) << out;
  EXPECT_NE(out.find("NOAUTH"), std::string::npos) << out;
}
