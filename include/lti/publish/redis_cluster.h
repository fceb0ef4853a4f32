// Redis Cluster on top of hiredis 0.14, which has no cluster support: the slot map from
// CLUSTER SLOTS, CRC16 key slots with {hash tags}, one pipelined connection per master, and the
// cluster's answers handled: MOVED (refresh the map, resend), ASK (ASKING + resend to the
// target), TRYAGAIN/CLUSTERDOWN/LOADING (back off, retry) and a dead node (ask the other nodes
// for the new map once a replica is promoted, resend what was not acknowledged), all within a
// bounded time.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lti/publish/redis_client.h"
#include "lti/publish/redis_store.h"

namespace lti {

constexpr int kClusterSlots = 16384;

// CRC16-CCITT (XMODEM), the cluster's key hash.
uint16_t crc16_xmodem(const char* data, size_t size);
// The key's slot: CRC16 of the whole key, or of the part inside its first non-empty {...}.
int key_slot(const std::string& key);

class RedisClusterClient final : public RedisStore {
 public:
  // Connects to the first seed that answers and loads the slot map. `options` gives the
  // password and timeouts for every node; `retry_seconds` bounds how long a command is retried
  // through redirections, a failover or a cluster that is down. Throws RedisError.
  RedisClusterClient(std::vector<RedisAddress> seeds, RedisOptions options,
                     double retry_seconds = 60);
  ~RedisClusterClient() override;

  void send(std::vector<SetCommand> batch, int64_t ttl_seconds) override;
  size_t acknowledge_oldest() override;
  size_t in_flight() const override { return unacknowledged_.size(); }
  std::string command(const std::vector<std::string>& args) override;
  void pipeline(const std::vector<std::vector<std::string>>& commands) override;
  void for_each_key(const std::string& pattern, const KeyPage& page) override;
  std::vector<std::pair<std::string, uint64_t>> written_per_node() const override;
  std::string activity() const override;
  std::string describe() const override;

  uint64_t redirections() const { return redirections_; }
  uint64_t map_refreshes() const { return map_refreshes_; }

 private:
  struct Node;
  // Requests are whole commands, the key at args[1]; a batch is dispatched in parts, one per
  // node, and each request ends with a result.
  enum class Outcome { kPending, kDone, kMoved, kAsk, kRetry, kLost };
  struct Result {
    Outcome outcome = Outcome::kPending;
    int node = -1;      // who answered kDone; the ASK target for kAsk
    std::string reply;  // the reply (kDone) or why it must be re-sent
  };
  struct Part {
    int node;
    uint64_t generation;  // the node's connection it was written to
    std::vector<size_t> requests;
    bool asking;
  };
  struct Batch {
    std::vector<std::vector<std::string>> requests;
    std::vector<Result> results;
    std::vector<Part> parts;
    bool collected = false;
    bool counts_users = false;  // SETs from send(): counted per node
  };

  int node_index(const std::string& host, int port);
  std::vector<int> masters() const;  // the nodes that serve a slot now, each once
  RedisClient* connection(int node, std::string& error);
  void drop_connection(int node);
  bool refresh_map(std::string& error);
  // Writes the batch's requests that are not done to their owners (ASK targets with ASKING).
  void dispatch(Batch& batch);
  // Reads the replies of every dispatched part.
  void collect(Batch& batch);
  // Collects, then re-sends what is not done until everything is or the time is up.
  void complete(Batch& batch);
  Batch run(std::vector<std::vector<std::string>> requests);  // synchronous, nothing in flight

  RedisOptions options_;
  double retry_seconds_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<int> slot_owner_;  // slot -> node index, -1 when no master serves it
  std::deque<Batch> unacknowledged_;
  uint64_t redirections_ = 0, map_refreshes_ = 0, reconnects_ = 0;
};

// The exporter's Redis: a Redis Cluster when `force_cluster`, when several addresses are given
// (nodes of one cluster), or when the one address says cluster_enabled:1 (INFO cluster); one
// server otherwise. A database other than 0 is refused for a cluster (it has only database 0:
// SELECT is not allowed). Throws Error/RedisError.
std::unique_ptr<RedisStore> open_redis(const std::vector<RedisAddress>& addresses,
                                       const RedisOptions& options, bool force_cluster,
                                       double retry_seconds);
// "a:1,b:2" -> addresses (each as RedisAddress::parse reads it).
std::vector<RedisAddress> parse_redis_addresses(const std::string& text);

}  // namespace lti
