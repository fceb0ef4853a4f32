// What the exporter needs from Redis, whether one server (RedisClient) or a Redis Cluster
// (RedisClusterClient): pipelined SET batches with every reply checked, single commands routed
// by their key, a key scan, and how many users each server took.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "lti/util/errors.h"

namespace lti {

struct RedisError : Error {
  explicit RedisError(const std::string& m) : Error(kExitRedis, m) {}
};

// One SET command: key and value (the TTL is per batch).
struct SetCommand {
  std::string key;
  std::string value;
};

class RedisStore {
 public:
  virtual ~RedisStore() = default;

  // Pipelining across batches: send() hands a batch of SET key value [EX ttl] to Redis without
  // waiting for its replies; acknowledge_oldest() reads the replies of the oldest batch still
  // unacknowledged (re-sending what a lost connection or a moved slot did not take) and returns
  // its size. Throws RedisError when Redis refuses a write or stays unreachable.
  virtual void send(std::vector<SetCommand> batch, int64_t ttl_seconds) = 0;
  virtual size_t acknowledge_oldest() = 0;
  virtual size_t in_flight() const = 0;

  // One command whose key is args[1] (GET, SET, EXISTS, EXPIRE...); returns the reply as text
  // (status, string or integer, "(nil)"). Throws RedisError on an error reply.
  virtual std::string command(const std::vector<std::string>& args) = 0;
  // Several such commands as pipelines; every reply checked.
  virtual void pipeline(const std::vector<std::vector<std::string>>& commands) = 0;
  // Every key matching the SCAN `pattern`, on every server, a page at a time.
  using KeyPage = std::function<void(const std::vector<std::string>& keys)>;
  virtual void for_each_key(const std::string& pattern, const KeyPage& page) = 0;

  // Users (SETs sent with send()) acknowledged, per server "host:port".
  virtual std::vector<std::pair<std::string, uint64_t>> written_per_node() const = 0;
  // For the end report: reconnections, and in a cluster redirections and map refreshes.
  virtual std::string activity() const = 0;
  // Where: "host:port/db", or the cluster's masters.
  virtual std::string describe() const = 0;
};

}  // namespace lti
