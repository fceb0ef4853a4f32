#include "lti/publish/redis_client.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <thread>

namespace lti {

RedisAddress RedisAddress::parse(const std::string& text) {
  auto fail = [&](const std::string& why) {
    throw Error(kExitUsage,
                "--redis '" + text + "': " + why + " (expected host:port or redis://host:port/db)");
  };
  RedisAddress a;
  std::string rest = text;
  if (rest.rfind("redis://", 0) == 0) {
    rest = rest.substr(8);
    const auto at = rest.rfind('@');
    if (at != std::string::npos) {
      // redis://[user]:password@host: only the password part is used (no ACL user).
      const std::string credentials = rest.substr(0, at);
      const auto colon = credentials.find(':');
      a.password = colon == std::string::npos ? credentials : credentials.substr(colon + 1);
      rest = rest.substr(at + 1);
    }
    const auto slash = rest.find('/');
    if (slash != std::string::npos) {
      const std::string db = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
      if (!db.empty()) {
        try {
          size_t used = 0;
          a.db = std::stoi(db, &used);
          if (used != db.size() || a.db < 0) fail("bad database number '" + db + "'");
        } catch (const std::logic_error&) {
          fail("bad database number '" + db + "'");
        }
      }
    }
  }
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    try {
      size_t used = 0;
      a.port = std::stoi(port, &used);
      if (used != port.size() || a.port <= 0 || a.port > 65535) fail("bad port '" + port + "'");
    } catch (const std::logic_error&) {
      fail("bad port '" + port + "'");
    }
  }
  if (!rest.empty()) a.host = rest;
  if (a.host == "localhost") a.host = "127.0.0.1";
  return a;
}

std::string RedisAddress::to_string() const {  // never shows the password
  return host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::string read_password_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(kExitUsage, "--redis_password_file: cannot read '" + path + "'");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

namespace {

timeval to_timeval(double seconds) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - tv.tv_sec) * 1e6);
  return tv;
}

std::string reply_text(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    default:
      return "(reply type " + std::to_string(r->type) + ")";
  }
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

RedisValue to_value(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::kStatus;
      break;
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::kString;
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::Type::kError;
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::kInteger;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(to_value(r->element[i]));
      break;
    default:
      v.type = RedisValue::Type::kNil;
  }
  v.text = reply_text(r);
  return v;
}

struct Argv {
  explicit Argv(const std::vector<std::string>& args) {
    for (const auto& a : args) {
      pointers.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
  int count() const { return static_cast<int>(pointers.size()); }
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
};

}  // namespace

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {
  // hiredis writes with plain write(): a server that went away would kill the process with
  // SIGPIPE instead of giving us EPIPE to recover from.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    connect();
  } catch (...) {
    // No destructor runs for an object whose constructor threw (LeakSanitizer found this).
    if (context_) redisFree(context_);
    context_ = nullptr;
    throw;
  }
}

RedisClient::~RedisClient() {
  if (context_) redisFree(context_);
}

void RedisClient::connect() {
  if (context_) {
    redisFree(context_);
    context_ = nullptr;
  }
  const std::string where = options_.address.host + ":" + std::to_string(options_.address.port);
  context_ = redisConnectWithTimeout(options_.address.host.c_str(), options_.address.port,
                                     to_timeval(options_.timeout_seconds));
  if (!context_) throw RedisError("cannot allocate a Redis context");
  if (context_->err)
    throw RedisError("cannot connect to Redis at " + where + ": " + context_->errstr);
  redisSetTimeout(context_, to_timeval(options_.timeout_seconds));
  // AUTH and SELECT again after every connect: a new connection starts unauthenticated in db 0.
  if (!options_.password.empty()) {
    const char* argv[2] = {"AUTH", options_.password.c_str()};
    const size_t len[2] = {4, options_.password.size()};
    Reply r(static_cast<redisReply*>(redisCommandArgv(context_, 2, argv, len)));
    if (!r) throw RedisError("Redis at " + where + ": AUTH failed: " + context_->errstr);
    if (r->type == REDIS_REPLY_ERROR)
      throw RedisError("Redis at " + where + " refused the password: " + reply_text(r.get()));
  }
  if (options_.address.db != 0) {
    const std::string db = std::to_string(options_.address.db);
    const char* argv[2] = {"SELECT", db.c_str()};
    const size_t len[2] = {6, db.size()};
    Reply r(static_cast<redisReply*>(redisCommandArgv(context_, 2, argv, len)));
    if (!r) throw RedisError("Redis at " + where + ": SELECT failed: " + context_->errstr);
    if (r->type == REDIS_REPLY_ERROR)
      throw RedisError("Redis at " + where + ": SELECT " + db + ": " + reply_text(r.get()));
  }
  // A server that requires a password answers the first command with NOAUTH: ask now.
  const char* ping[1] = {"PING"};
  const size_t ping_len[1] = {4};
  Reply r(static_cast<redisReply*>(redisCommandArgv(context_, 1, ping, ping_len)));
  if (!r) throw RedisError("Redis at " + where + " does not answer: " + context_->errstr);
  if (r->type == REDIS_REPLY_ERROR)
    throw RedisError(
        "Redis at " + where + ": " + reply_text(r.get()) +
        (options_.password.empty() ? " (set REDISCLI_AUTH or --redis_password_file)" : ""));
}

RedisValue RedisClient::call(const std::vector<std::string>& args) {
  Argv argv(args);
  Reply r(static_cast<redisReply*>(
      redisCommandArgv(context_, argv.count(), argv.pointers.data(), argv.lengths.data())));
  if (!r)
    throw RedisError(std::string("Redis command ") + args.at(0) + " failed: " + context_->errstr);
  return to_value(r.get());
}

std::string RedisClient::command(const std::vector<std::string>& args) {
  const RedisValue reply = call(args);
  if (reply.is_error()) throw RedisError("Redis answered " + args.at(0) + " with: " + reply.text);
  return reply.text;
}

void RedisClient::append(const std::vector<std::string>& args) {
  Argv argv(args);
  if (redisAppendCommandArgv(context_, argv.count(), argv.pointers.data(), argv.lengths.data()) !=
      REDIS_OK)
    throw RedisError(std::string("Redis pipeline failed: ") + context_->errstr);
}

bool RedisClient::flush(std::string& error) {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      error = context_->errstr;
      return false;
    }
  }
  return true;
}

bool RedisClient::read(RedisValue& reply, std::string& error) {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
    error = context_->errstr;
    return false;
  }
  Reply r(static_cast<redisReply*>(raw));
  reply = to_value(r.get());
  return true;
}

void RedisClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
  for (const auto& args : commands) append(args);
  for (const auto& args : commands) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK)
      throw RedisError("Redis " + args.at(0) + " failed: " + context_->errstr);
    Reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR)
      throw RedisError("Redis answered " + args.at(0) + " with: " + reply_text(r.get()));
  }
}

std::pair<std::string, std::vector<std::string>> RedisClient::scan(const std::string& cursor,
                                                                   const std::string& pattern,
                                                                   int count) {
  const std::string count_text = std::to_string(count);
  const char* argv[6] = {"SCAN",         cursor.data(), "MATCH",
                         pattern.data(), "COUNT",       count_text.data()};
  const size_t len[6] = {4, cursor.size(), 5, pattern.size(), 5, count_text.size()};
  Reply r(static_cast<redisReply*>(redisCommandArgv(context_, 6, argv, len)));
  if (!r) throw RedisError(std::string("Redis SCAN failed: ") + context_->errstr);
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
    throw RedisError("Redis answered SCAN with: " + reply_text(r.get()));
  std::pair<std::string, std::vector<std::string>> page;
  page.first = reply_text(r->element[0]);
  for (size_t i = 0; i < r->element[1]->elements; ++i)
    page.second.push_back(reply_text(r->element[1]->element[i]));
  return page;
}

void RedisClient::for_each_key(const std::string& pattern, const KeyPage& page) {
  std::string cursor = "0";
  do {
    auto [next, keys] = scan(cursor, pattern, 1000);
    if (!keys.empty()) page(keys);
    cursor = next;
  } while (cursor != "0");
}

std::vector<std::pair<std::string, uint64_t>> RedisClient::written_per_node() const {
  return {{options_.address.host + ":" + std::to_string(options_.address.port), written_}};
}

std::string RedisClient::activity() const {
  return "redis " + std::to_string(reconnects_) + " reconnect(s)";
}

bool RedisClient::try_send(const std::vector<SetCommand>& commands, int64_t ttl,
                           std::string& error) {
  if (!context_ || context_->err) {
    error = context_ ? context_->errstr : "not connected";
    return false;
  }
  const std::string ttl_text = std::to_string(ttl);
  for (const auto& c : commands) {
    const char* argv[5] = {"SET", c.key.data(), c.value.data(), "EX", ttl_text.data()};
    const size_t len[5] = {3, c.key.size(), c.value.size(), 2, ttl_text.size()};
    if (redisAppendCommandArgv(context_, ttl > 0 ? 5 : 3, argv, len) != REDIS_OK) {
      error = context_->errstr;
      return false;
    }
  }
  return flush(error);
}

bool RedisClient::try_receive(const std::vector<SetCommand>& commands, std::string& error) {
  // Every reply is read before the batch counts as written.
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      error = context_->errstr;
      return false;
    }
    Reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR)
      throw RedisError("Redis refused SET " + commands[i].key + ": " + reply_text(r.get()));
    if (r->type != REDIS_REPLY_STATUS || reply_text(r.get()) != "OK")
      throw RedisError("unexpected reply to SET " + commands[i].key + ": " + reply_text(r.get()));
  }
  return true;
}

void RedisClient::recover(std::string error) {
  double backoff = options_.first_backoff_seconds;
  for (int attempt = 1; attempt <= options_.max_retries; ++attempt) {
    spdlog::warn("Redis connection lost ({}); reconnecting in {:.1f} s (attempt {}/{})",
                 error.empty() ? "no connection" : error, backoff, attempt, options_.max_retries);
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    backoff *= 2;
    try {
      connect();
      ++reconnects_;
    } catch (const RedisError& e) {
      error = e.what();
      continue;
    }
    bool sent = true;
    for (const auto& batch : unacknowledged_) {
      if (!try_send(batch, pipeline_ttl_, error)) {
        sent = false;
        break;
      }
    }
    if (sent) return;
  }
  throw RedisError("Redis at " + options_.address.host + ":" +
                   std::to_string(options_.address.port) + " stayed unreachable after " +
                   std::to_string(options_.max_retries) + " reconnect attempts (" + error + ")");
}

void RedisClient::send(std::vector<SetCommand> batch, int64_t ttl_seconds) {
  if (!unacknowledged_.empty() && ttl_seconds != pipeline_ttl_) {
    while (!unacknowledged_.empty()) acknowledge_oldest();
  }
  pipeline_ttl_ = ttl_seconds;
  unacknowledged_.push_back(std::move(batch));
  std::string error;
  if (!try_send(unacknowledged_.back(), ttl_seconds, error)) recover(error);
}

size_t RedisClient::acknowledge_oldest() {
  if (unacknowledged_.empty()) return 0;
  std::string error;
  while (!try_receive(unacknowledged_.front(), error)) recover(error);
  const size_t n = unacknowledged_.front().size();
  unacknowledged_.pop_front();
  written_ += n;
  return n;
}

}  // namespace lti
