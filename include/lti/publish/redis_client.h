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

#include "lti/publish/redis_store.h"
#include "lti/util/errors.h"

struct redisContext;

namespace lti {

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

// A whole reply, nested arrays included (CLUSTER SLOTS answers with one).
struct RedisValue {
  enum class Type { kStatus, kString, kInteger, kNil, kError, kArray };
  Type type = Type::kNil;
  std::string text;  // status, string or error text; the integer as text
  int64_t integer = 0;
  std::vector<RedisValue> elements;
  bool is_error() const { return type == Type::kError; }
};

// One Redis server.
class RedisClient final : public RedisStore {
 public:
  explicit RedisClient(RedisOptions options);  // connects; throws RedisError
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // RedisStore. Keeping two batches in flight lets Redis work on one while the next is sent.
  // A lost connection is re-established (with backoff) and every unacknowledged batch re-sent:
  // SET is idempotent. An error reply (e.g. READONLY, OOM) throws RedisError.
  void send(std::vector<SetCommand> batch, int64_t ttl_seconds) override;
  size_t acknowledge_oldest() override;
  size_t in_flight() const override { return unacknowledged_.size(); }
  std::string command(const std::vector<std::string>& args) override;  // any command
  void pipeline(const std::vector<std::vector<std::string>>& commands) override;
  void for_each_key(const std::string& pattern, const KeyPage& page) override;
  std::vector<std::pair<std::string, uint64_t>> written_per_node() const override;
  std::string activity() const override;
  std::string describe() const override { return "Redis at " + options_.address.to_string(); }

  // One SCAN step over the keys matching `pattern`: the next cursor ("0" at the end) and keys.
  std::pair<std::string, std::vector<std::string>> scan(const std::string& cursor,
                                                        const std::string& pattern, int count);
  uint64_t reconnects() const { return reconnects_; }

  // Raw access, for the cluster client, which routes and retries itself: call() sends one
  // command and returns its whole reply (error replies included); append() queues a command,
  // flush() writes the queue, read() takes the next reply. call() throws RedisError and
  // flush()/read() return false (with `error`) when the connection fails.
  RedisValue call(const std::vector<std::string>& args);
  void append(const std::vector<std::string>& args);
  bool flush(std::string& error);
  bool read(RedisValue& reply, std::string& error);

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
  uint64_t written_ = 0;
};

// Reads a password file (first line, without its newline). Throws Error(kExitUsage).
std::string read_password_file(const std::string& path);

}  // namespace lti
