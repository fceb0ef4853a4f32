// A real Redis Cluster for tests: `masters` x (1 + replicas) redis-server processes with
// --cluster-enabled on free loopback ports (a password on every node when given), joined by
// `redis-cli --cluster create`, started and stopped by the test.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lti/publish/redis_client.h"
#include "redis_server.h"
#include "test_util.h"

namespace lti::test {

class RedisClusterServers {
 public:
  explicit RedisClusterServers(std::string password = "", int masters = 3, int replicas = 1)
      : password_(std::move(password)) {
    for (int i = 0; i < masters * (1 + replicas); ++i) {
      // The bus port must be a free one too (port + 10000 may not exist): RedisServer picks
      // one at each attempt.
      // clang-format off
      std::vector<std::string> args = {"--cluster-enabled", "yes",
                                       "--cluster-config-file", "nodes.conf",
                                       "--cluster-node-timeout", "1000",
                                       "--cluster-port", RedisServer::kFreePort};
      // clang-format on
      if (!password_.empty())
        args.insert(args.end(), {"--requirepass", password_, "--masterauth", password_});
      nodes_.push_back(std::make_unique<RedisServer>(args));
    }
    alive_.assign(nodes_.size(), true);
    std::string addresses;
    for (const auto& n : nodes_) addresses += " 127.0.0.1:" + std::to_string(n->port());
    std::string out;
    if (run_command(cli_prefix() + "--cluster create" + addresses + " --cluster-replicas " +
                        std::to_string(replicas) + " --cluster-yes",
                    out) != 0)
      throw std::runtime_error("redis-cli --cluster create failed: " + out);
    wait_until_healthy();
  }

  int port(size_t i) const { return nodes_.at(i)->port(); }
  size_t size() const { return nodes_.size(); }
  RedisServer& server(size_t i) { return *nodes_.at(i); }
  // "127.0.0.1:p1,127.0.0.1:p2,...": every node, for --redis.
  std::string seeds() const {
    std::string text;
    for (const auto& n : nodes_)
      text += (text.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(n->port());
    return text;
  }
  const std::string& password() const { return password_; }
  // "redis-cli -a pw --no-auth-warning "
  std::string cli_prefix() const {
    return "redis-cli " +
           (password_.empty() ? std::string() : "-a " + password_ + " --no-auth-warning ");
  }

  RedisOptions options(int port) const {
    RedisOptions o;
    o.address.port = port;
    o.password = password_;
    o.timeout_seconds = 2;
    return o;
  }
  // A command on one node (no routing): the reply as text.
  std::string query(int port, const std::vector<std::string>& args) const {
    RedisClient c(options(port));
    return c.command(args);
  }
  bool is_master(size_t i) const {
    return query(port(i), {"INFO", "replication"}).find("role:master") != std::string::npos;
  }
  std::vector<size_t> masters() const {
    std::vector<size_t> m;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (alive_[i] && is_master(i)) m.push_back(i);
    return m;
  }
  std::string node_id(size_t i) const { return query(port(i), {"CLUSTER", "MYID"}); }
  // Blocks until master i's replicas hold every write it has processed, and no write has
  // arrived for 200 ms (so none of a client's pipelined ones is still on its way). Redis
  // replicates asynchronously: a master killed before this loses what its replica had not yet
  // received, even though it acknowledged it, which no client can undo (docs/operations.md).
  void wait_until_replicated(size_t i, double seconds = 30) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    const auto number_after = [](const std::string& text, const std::string& key) -> long long {
      const size_t at = text.find(key);
      return at == std::string::npos ? -1 : std::stoll(text.substr(at + key.size()));
    };
    long long last = -1;  // the master's offset, and since when it is unchanged and replicated
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string info = query(port(i), {"INFO", "replication"});
      const long long master = number_after(info, "master_repl_offset:");
      const long long replica = number_after(info, ",offset=");  // slave0's
      const auto now = std::chrono::steady_clock::now();
      if (master != last || replica != master) {
        last = master;
        since = now;
      } else if (now - since >= std::chrono::milliseconds(200)) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("node " + std::to_string(i) + "'s replica did not catch up");
  }
  // SIGKILL: a crash; the node's replica is promoted after the node timeout.
  void kill(size_t i) {
    nodes_.at(i)->stop();
    alive_[i] = false;
  }

  // Every live node sees the cluster ok, every slot served, and every live replica is in
  // sync with its master (so that a failover can promote it).
  void wait_until_healthy(double seconds = 60) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      bool healthy = true;
      try {
        for (size_t i = 0; i < nodes_.size() && healthy; ++i) {
          if (!alive_[i]) continue;
          last = query(port(i), {"CLUSTER", "INFO"});
          healthy = last.find("cluster_state:ok") != std::string::npos &&
                    last.find("cluster_slots_ok:16384") != std::string::npos;
          const std::string replication = query(port(i), {"INFO", "replication"});
          if (healthy && replication.find("role:slave") != std::string::npos)
            healthy = replication.find("master_link_status:up") != std::string::npos;
        }
      } catch (const std::exception& e) {
        healthy = false;
        last = e.what();
      }
      if (healthy) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the Redis Cluster did not become healthy: " + last);
  }

 private:
  std::string password_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<bool> alive_;  // false once kill()ed
};

}  // namespace lti::test
