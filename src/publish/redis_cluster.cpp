#include "lti/publish/redis_cluster.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace lti {

uint16_t crc16_xmodem(const char* data, size_t size) {
  uint16_t crc = 0;
  for (size_t i = 0; i < size; ++i) {
    crc ^= static_cast<uint16_t>(static_cast<unsigned char>(data[i]) << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

int key_slot(const std::string& key) {
  // Cluster specification: hash only what is between the first '{' and the first '}' after
  // it, when that is not empty; otherwise the whole key.
  const size_t open = key.find('{');
  if (open != std::string::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string::npos && close > open + 1)
      return crc16_xmodem(key.data() + open + 1, close - open - 1) % kClusterSlots;
  }
  return crc16_xmodem(key.data(), key.size()) % kClusterSlots;
}

struct RedisClusterClient::Node {
  std::string host;
  int port;
  std::unique_ptr<RedisClient> client;
  uint64_t generation = 0;  // incremented by every new connection
  uint64_t written = 0;     // users acknowledged by this node
  std::string name() const { return host + ":" + std::to_string(port); }
};

namespace {

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> slot, host, port.
bool parse_redirection(const std::string& text, int& slot, std::string& host, int& port) {
  const size_t first = text.find(' '), second = text.find(' ', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  const std::string where = text.substr(second + 1);
  const size_t colon = where.rfind(':');
  if (colon == std::string::npos) return false;
  try {
    slot = std::stoi(text.substr(first + 1, second - first - 1));
    port = std::stoi(where.substr(colon + 1));
  } catch (const std::logic_error&) {
    return false;
  }
  host = where.substr(0, colon);
  return slot >= 0 && slot < kClusterSlots;
}

}  // namespace

RedisClusterClient::RedisClusterClient(std::vector<RedisAddress> seeds, RedisOptions options,
                                       double retry_seconds)
    : options_(std::move(options)), retry_seconds_(retry_seconds), slot_owner_(kClusterSlots, -1) {
  for (const RedisAddress& seed : seeds) {
    if (seed.db != 0)
      throw Error(kExitUsage,
                  "--redis " + seed.to_string() +
                      ": a Redis Cluster has only database 0 (SELECT is refused in cluster "
                      "mode): drop the /db part and --db");
    node_index(seed.host, seed.port);
  }
  std::string error;
  if (!refresh_map(error))
    throw RedisError("no Redis Cluster node answered CLUSTER SLOTS (" + error + ")");
  if (std::count(slot_owner_.begin(), slot_owner_.end(), -1) == kClusterSlots)
    throw RedisError("the Redis Cluster at " + nodes_.front()->name() +
                     " serves no slot yet (create it: redis-cli --cluster create ...)");
}

RedisClusterClient::~RedisClusterClient() = default;

int RedisClusterClient::node_index(const std::string& host_name, int port) {
  const std::string host = host_name == "localhost" ? "127.0.0.1" : host_name;  // as --redis
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->host == host && nodes_[i]->port == port) return static_cast<int>(i);
  auto node = std::make_unique<Node>();
  node->host = host;
  node->port = port;
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size() - 1);
}

RedisClient* RedisClusterClient::connection(int node, std::string& error) {
  Node& n = *nodes_[static_cast<size_t>(node)];
  if (n.client) return n.client.get();
  RedisOptions options = options_;
  options.address.host = n.host;
  options.address.port = n.port;
  options.address.db = 0;
  try {
    n.client = std::make_unique<RedisClient>(options);
  } catch (const RedisError& e) {
    error = e.what();
    return nullptr;
  }
  if (n.generation++ > 0) ++reconnects_;
  return n.client.get();
}

void RedisClusterClient::drop_connection(int node) {
  nodes_[static_cast<size_t>(node)]->client.reset();
}

bool RedisClusterClient::refresh_map(std::string& error) {
  // Nodes already connected first: after a failover they are the ones alive.
  std::vector<int> order;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->client) order.push_back(static_cast<int>(i));
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!nodes_[i]->client) order.push_back(static_cast<int>(i));
  for (const int node : order) {
    RedisClient* c = connection(node, error);
    if (!c) continue;
    RedisValue slots;
    try {
      slots = c->call({"CLUSTER", "SLOTS"});
    } catch (const RedisError& e) {
      error = e.what();
      drop_connection(node);
      continue;
    }
    if (slots.is_error()) {
      error = nodes_[static_cast<size_t>(node)]->name() +
              " answered CLUSTER SLOTS with: " + slots.text +
              (slots.text.find("disabled") != std::string::npos
                   ? " (not a cluster node: drop --cluster, give one address)"
                   : "");
      continue;
    }
    std::vector<int> owner(kClusterSlots, -1);
    // Each range: [first slot, last slot, [master host, port, id], replicas...].
    for (const RedisValue& range : slots.elements) {
      if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) continue;
      std::string host = range.elements[2].elements[0].text;
      if (host.empty() || host == "?") host = nodes_[static_cast<size_t>(node)]->host;
      const int master = node_index(host, static_cast<int>(range.elements[2].elements[1].integer));
      const int64_t first = std::max<int64_t>(0, range.elements[0].integer);
      const int64_t last = std::min<int64_t>(kClusterSlots - 1, range.elements[1].integer);
      for (int64_t s = first; s <= last; ++s) owner[static_cast<size_t>(s)] = master;
    }
    slot_owner_ = std::move(owner);
    ++map_refreshes_;
    return true;
  }
  return false;
}

void RedisClusterClient::dispatch(Batch& batch) {
  batch.parts.clear();
  for (size_t i = 0; i < batch.requests.size(); ++i) {
    Result& result = batch.results[i];
    if (result.outcome == Outcome::kDone) continue;
    int target;
    const bool asking = result.outcome == Outcome::kAsk;
    if (asking) {
      target = result.node;
    } else {
      const int slot = key_slot(batch.requests[i].at(1));
      target = slot_owner_[static_cast<size_t>(slot)];
      if (target < 0) {
        result = {Outcome::kRetry, -1, "slot " + std::to_string(slot) + " has no master"};
        continue;
      }
    }
    result.outcome = Outcome::kPending;
    auto part = std::find_if(batch.parts.begin(), batch.parts.end(),
                             [&](const Part& p) { return p.node == target && p.asking == asking; });
    if (part == batch.parts.end())
      part = batch.parts.insert(batch.parts.end(), Part{target, 0, {}, asking});
    part->requests.push_back(i);
  }
  // Everything is written to every node before any reply is read: the masters work together.
  for (Part& part : batch.parts) {
    std::string error;
    RedisClient* c = connection(part.node, error);
    if (c) {
      for (const size_t i : part.requests) {
        if (part.asking) c->append({"ASKING"});
        c->append(batch.requests[i]);
      }
      if (!c->flush(error)) {
        drop_connection(part.node);
        c = nullptr;
      }
    }
    if (!c) {
      for (const size_t i : part.requests)
        batch.results[i] = {Outcome::kLost, -1,
                            nodes_[static_cast<size_t>(part.node)]->name() + ": " + error};
      continue;
    }
    part.generation = nodes_[static_cast<size_t>(part.node)]->generation;
  }
  batch.collected = false;
}

void RedisClusterClient::collect(Batch& batch) {
  for (const Part& part : batch.parts) {
    Node& node = *nodes_[static_cast<size_t>(part.node)];
    for (size_t k = 0; k < part.requests.size(); ++k) {
      const size_t i = part.requests[k];
      Result& result = batch.results[i];
      if (result.outcome != Outcome::kPending) continue;  // failed when it was written
      RedisValue reply;
      std::string error = "connection lost";
      const bool connected = node.client && node.generation == part.generation;
      if (!connected || (part.asking && !node.client->read(reply, error)) ||
          !node.client->read(reply, error)) {
        // The connection is gone: this request and the rest of the part were not acknowledged.
        if (connected) drop_connection(part.node);
        for (size_t rest = k; rest < part.requests.size(); ++rest)
          batch.results[part.requests[rest]] = {Outcome::kLost, -1, node.name() + ": " + error};
        break;
      }
      const std::vector<std::string>& request = batch.requests[i];
      if (!reply.is_error()) {
        if (request[0] == "SET" && reply.text != "OK")
          throw RedisError("unexpected reply from " + node.name() + " to SET " + request[1] + ": " +
                           reply.text);
        result = {Outcome::kDone, part.node, reply.text};
        if (batch.counts_users) ++node.written;
        continue;
      }
      int slot, port;
      std::string host;
      if (starts_with(reply.text, "MOVED ") && parse_redirection(reply.text, slot, host, port)) {
        ++redirections_;
        slot_owner_[static_cast<size_t>(slot)] = node_index(host, port);
        result = {Outcome::kMoved, -1, reply.text};
      } else if (starts_with(reply.text, "ASK ") &&
                 parse_redirection(reply.text, slot, host, port)) {
        ++redirections_;
        result = {Outcome::kAsk, node_index(host, port), reply.text};
      } else if (starts_with(reply.text, "READONLY")) {  // a replica now: the map is old
        result = {Outcome::kMoved, -1, node.name() + ": " + reply.text};
      } else if (starts_with(reply.text, "TRYAGAIN") || starts_with(reply.text, "CLUSTERDOWN") ||
                 starts_with(reply.text, "LOADING") || starts_with(reply.text, "MASTERDOWN")) {
        result = {Outcome::kRetry, -1, node.name() + ": " + reply.text};
      } else {
        throw RedisError("Redis Cluster node " + node.name() + " refused " + request[0] + " " +
                         request[1] + ": " + reply.text);
      }
    }
  }
  batch.collected = true;
}

void RedisClusterClient::complete(Batch& batch) {
  if (!batch.collected) collect(batch);
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(retry_seconds_);
  double backoff = 0.05;
  for (int round = 1;; ++round) {
    size_t open = 0;
    bool stale_map = false, wait = false;
    std::string why;
    for (const Result& r : batch.results) {
      if (r.outcome == Outcome::kDone) continue;
      if (open++ == 0) why = r.reply;
      stale_map |= r.outcome == Outcome::kMoved || r.outcome == Outcome::kLost;
      wait |= r.outcome == Outcome::kRetry || r.outcome == Outcome::kLost;
    }
    if (open == 0) return;
    if (Clock::now() > deadline)
      throw RedisError(
          "Redis Cluster: " + std::to_string(open) + " command(s) still not acknowledged after " +
          std::to_string(static_cast<int>(retry_seconds_)) + " s of retries (" + why + ")");
    if (wait) {
      if (round == 1 || round % 20 == 0)
        spdlog::warn("Redis Cluster: {} command(s) to re-send ({}); retrying for up to {:.0f} s",
                     open, why, retry_seconds_);
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
      backoff = std::min(backoff * 2, 1.0);
    }
    if (stale_map) {
      std::string error;
      if (!refresh_map(error)) {
        for (Result& r : batch.results)
          if (r.outcome == Outcome::kMoved) r = {Outcome::kLost, -1, error};
        continue;  // nobody answered: back off and ask again
      }
    }
    dispatch(batch);
    collect(batch);
  }
}

void RedisClusterClient::send(std::vector<SetCommand> commands, int64_t ttl_seconds) {
  Batch batch;
  batch.counts_users = true;
  const std::string ttl = std::to_string(ttl_seconds);
  batch.requests.reserve(commands.size());
  for (SetCommand& c : commands) {
    batch.requests.push_back({"SET", std::move(c.key), std::move(c.value)});
    if (ttl_seconds > 0) batch.requests.back().insert(batch.requests.back().end(), {"EX", ttl});
  }
  batch.results.resize(batch.requests.size());
  unacknowledged_.push_back(std::move(batch));
  dispatch(unacknowledged_.back());
}

size_t RedisClusterClient::acknowledge_oldest() {
  if (unacknowledged_.empty()) return 0;
  Batch& oldest = unacknowledged_.front();
  if (!oldest.collected) collect(oldest);
  const bool all_done = std::all_of(oldest.results.begin(), oldest.results.end(),
                                    [](const Result& r) { return r.outcome == Outcome::kDone; });
  if (!all_done) {
    // Re-sending on a connection that still owes the later batches' replies would mix the
    // replies up: read those first (their failures are re-sent when their turn comes).
    for (Batch& later : unacknowledged_)
      if (!later.collected) collect(later);
    complete(oldest);
  }
  const size_t n = oldest.requests.size();
  unacknowledged_.pop_front();
  return n;
}

RedisClusterClient::Batch RedisClusterClient::run(std::vector<std::vector<std::string>> requests) {
  while (!unacknowledged_.empty()) acknowledge_oldest();
  Batch batch;
  batch.requests = std::move(requests);
  batch.results.resize(batch.requests.size());
  dispatch(batch);
  complete(batch);
  return batch;
}

std::string RedisClusterClient::command(const std::vector<std::string>& args) {
  if (args.size() < 2) throw RedisError("Redis Cluster: " + args.at(0) + " has no key to route by");
  return run({args}).results.front().reply;
}

void RedisClusterClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (!commands.empty()) run(commands);
}

std::vector<int> RedisClusterClient::masters() const {
  std::vector<int> owners(slot_owner_.begin(), slot_owner_.end());
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  owners.erase(std::remove(owners.begin(), owners.end(), -1), owners.end());
  return owners;
}

void RedisClusterClient::for_each_key(const std::string& pattern, const KeyPage& page) {
  for (const int node : masters()) {
    // The connection is looked up again for every SCAN step: the page's commands may have
    // replaced it (SCAN cursors hold no server state, so a new connection continues).
    std::string cursor = "0";
    do {
      std::string error;
      RedisClient* c = connection(node, error);
      if (!c)
        throw RedisError("Redis Cluster: cannot scan " + nodes_[static_cast<size_t>(node)]->name() +
                         ": " + error);
      auto [next, keys] = c->scan(cursor, pattern, 1000);
      if (!keys.empty()) page(keys);
      cursor = next;
    } while (cursor != "0");
  }
}

std::vector<std::pair<std::string, uint64_t>> RedisClusterClient::written_per_node() const {
  std::vector<std::pair<std::string, uint64_t>> counts;
  for (const auto& node : nodes_)
    if (node->written > 0) counts.emplace_back(node->name(), node->written);
  return counts;
}

std::string RedisClusterClient::activity() const {
  return "redis cluster " + std::to_string(redirections_) + " redirection(s), " +
         std::to_string(map_refreshes_) + " slot-map load(s), " + std::to_string(reconnects_) +
         " reconnect(s)";
}

std::string RedisClusterClient::describe() const {
  std::string text;
  for (const int node : masters())
    text += (text.empty() ? "" : ", ") + nodes_[static_cast<size_t>(node)]->name();
  return "Redis Cluster (masters " + text + ")";
}

std::vector<RedisAddress> parse_redis_addresses(const std::string& text) {
  std::vector<RedisAddress> addresses;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t comma = std::min(text.find(',', begin), text.size());
    const std::string one = text.substr(begin, comma - begin);
    if (one.empty())
      throw Error(kExitUsage, "--redis '" + text + "': an empty address in the list");
    addresses.push_back(RedisAddress::parse(one));
    begin = comma + 1;
  }
  return addresses;
}

std::unique_ptr<RedisStore> open_redis(const std::vector<RedisAddress>& addresses,
                                       const RedisOptions& options, bool force_cluster,
                                       double retry_seconds) {
  if (addresses.empty()) throw Error(kExitUsage, "--redis: no address");
  if (!force_cluster && addresses.size() == 1) {
    // One address: ask it whether it is a cluster node.
    RedisOptions probe_options = options;
    probe_options.address = addresses.front();
    probe_options.address.db = 0;
    auto probe = std::make_unique<RedisClient>(probe_options);
    const bool cluster =
        probe->command({"INFO", "cluster"}).find("cluster_enabled:1") != std::string::npos;
    if (!cluster) {
      if (addresses.front().db == 0) return probe;
      probe.reset();
      probe_options.address.db = addresses.front().db;
      return std::make_unique<RedisClient>(probe_options);
    }
    spdlog::info("{} is a Redis Cluster node (INFO cluster: cluster_enabled:1)",
                 addresses.front().host + ":" + std::to_string(addresses.front().port));
  }
  return std::make_unique<RedisClusterClient>(addresses, options, retry_seconds);
}

}  // namespace lti
