// A small Redis client over hiredis 0.14: connect with AUTH and SELECT, pipelined writes with
// every reply checked, reconnection with backoff. hiredis 0.14 has no AUTH/SELECT helpers and
// its redisReconnect drops pending commands, so this class re-sends both after every connect
// and keeps a batch until all of its replies are read.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lti/errors.h"

struct redisContext;

namespace lti {

struct RedisError : Error {
  explicit RedisError(const std::string& m) : Error(kExitRedis, m) {}
};

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // from redis://:password@host (only accepted from a config file)

  // "host:port", "host", ":port" or "redis://[:password@]host[:port][/db]".
  static RedisAddress parse(const std::string& text);  // throws Error(kExitUsage)
  std::string to_string() const;
};

struct RedisOptions {
  RedisAddress address;
  std::string password;          // empty = no AUTH
  double timeout_seconds = 5.0;  // connect and per-reply timeout
  int max_retries = 6;           // reconnect attempts for one batch, with doubling backoff
  double first_backoff_seconds = 0.2;
};

// One SET command: key and value (the TTL is per batch).
struct SetCommand {
  std::string key;
  std::string value;
};

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);  // connects; throws RedisError
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends SET key value [EX ttl] for every command as one pipeline and reads every reply.
  // A lost connection is re-established (with backoff) and the whole batch re-sent: SET is
  // idempotent. Throws RedisError when Redis answers with an error (e.g. READONLY, OOM) or
  // stays unreachable.
  void set_all(const std::vector<SetCommand>& commands, int64_t ttl_seconds);

  // Pipelining across batches: send() hands a batch to Redis at once without waiting for its
  // replies, acknowledge_oldest() reads the replies of the oldest batch still unacknowledged
  // and returns its size. Keeping two batches in flight lets Redis work on one while the next
  // is sent. On a lost connection every unacknowledged batch is re-sent after reconnecting.
  void send(std::vector<SetCommand> batch, int64_t ttl_seconds);
  size_t acknowledge_oldest();
  size_t in_flight() const { return unacknowledged_.size(); }

  // Any single command; returns the reply as text (status, string or integer).
  std::string command(const std::vector<std::string>& args);
  // Several commands as one pipeline; every reply checked (RedisError on an error reply).
  void pipeline(const std::vector<std::vector<std::string>>& commands);
  // One SCAN step over the keys matching `pattern`: the next cursor ("0" at the end) and keys.
  std::pair<std::string, std::vector<std::string>> scan(const std::string& cursor,
                                                        const std::string& pattern, int count);

  uint64_t reconnects() const { return reconnects_; }

 private:
  void connect();
  bool try_send(const std::vector<SetCommand>& commands, int64_t ttl_seconds, std::string& error);
  bool try_receive(const std::vector<SetCommand>& commands, std::string& error);
  // Reconnects with backoff and re-sends every unacknowledged batch; throws when Redis stays away.
  void recover(std::string error);

  RedisOptions options_;
  redisContext* context_ = nullptr;
  uint64_t reconnects_ = 0;
  std::deque<std::vector<SetCommand>> unacknowledged_;
  int64_t pipeline_ttl_ = 0;
};

// Reads a password file (first line, without its newline). Throws Error(kExitUsage).
std::string read_password_file(const std::string& path);

}  // namespace lti
