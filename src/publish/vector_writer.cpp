#include "lti/publish/vector_writer.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <future>

#include <nlohmann/json.hpp>

#include "lti/util/interrupt.h"

namespace lti {

VectorFormat parse_vector_format(const std::string& name) {
  if (name == "json") return VectorFormat::kJson;
  if (name == "f32") return VectorFormat::kF32;
  throw Error(kExitUsage, "--format must be json or f32, not '" + name + "'");
}

const char* to_string(VectorFormat format) {
  return format == VectorFormat::kJson ? "json" : "f32";
}

std::string encode_vector(const float* values, size_t dim, VectorFormat format) {
  if (format == VectorFormat::kF32) {
    static_assert(sizeof(float) == 4, "float32 expected");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    std::string out(dim * 4, '\0');
    for (size_t i = 0; i < dim; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &values[i], 4);
      bits = __builtin_bswap32(bits);
      std::memcpy(&out[i * 4], &bits, 4);
    }
    return out;
#else
    return std::string(reinterpret_cast<const char*>(values), dim * 4);
#endif
  }
  // Written straight into the string's buffer: a float needs at most 15 characters.
  std::string out(dim * 16 + 2, '\0');
  char* p = out.data();
  char* const end = p + out.size();
  *p++ = '[';
  for (size_t i = 0; i < dim; ++i) {
    if (!std::isfinite(values[i]))
      throw Error(kExitFailure, "a user vector holds a non-finite value");
    if (i) *p++ = ',';
    // Shortest representation that round-trips to the same float32 (C++17 to_chars).
    p = std::to_chars(p, end, values[i]).ptr;
  }
  *p++ = ']';
  out.resize(static_cast<size_t>(p - out.data()));
  return out;
}

KeyLayout parse_key_layout(const std::string& name) {
  if (name == "plain") return KeyLayout::kPlain;
  if (name == "versioned") return KeyLayout::kVersioned;
  throw Error(kExitUsage, "--layout must be plain or versioned, not '" + name + "'");
}

std::string user_key_prefix(const WriteOptions& options) {
  return options.layout == KeyLayout::kVersioned
             ? options.key_prefix + options.model_fingerprint + ":"
             : options.key_prefix;
}

std::string current_key(const WriteOptions& options) { return options.key_prefix + "lti:current"; }

namespace {

std::string shard_meta_key(const WriteOptions& options, int shard) {
  std::string key = user_key_prefix(options) + "lti:meta";
  if (options.shards > 1)
    key += ":" + std::to_string(shard) + "-of-" + std::to_string(options.shards);
  return key;
}

// A SCAN pattern that matches `text` literally, then anything.
std::string literal_prefix_pattern(const std::string& text) {
  std::string pattern;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  return pattern + "*";
}

// Versioned layout, once this export's keys and metadata are written: when every shard's
// metadata key of this version is there, point lti:current at it (one SET: every reader moves
// at once) and let the previous version's keys expire.
void switch_version(RedisStore& redis, const WriteOptions& options, WriteReport& report) {
  // One EXISTS a key: in a cluster the shards' metadata keys live on different slots.
  for (int s = 0; s < options.shards && options.shards > 1; ++s)
    if (redis.command({"EXISTS", shard_meta_key(options, s)}) == "0") return;  // the last switches
  const std::string previous = redis.command({"GET", current_key(options)});
  redis.command({"SET", current_key(options), options.model_fingerprint});
  report.switched = true;
  if (previous == "(nil)" || previous == options.model_fingerprint) return;
  report.previous_version = previous;
  WriteOptions old = options;
  old.model_fingerprint = previous;
  redis.for_each_key(
      literal_prefix_pattern(user_key_prefix(old)), [&](const std::vector<std::string>& keys) {
        std::vector<std::vector<std::string>> expire;
        for (const std::string& key : keys)
          expire.push_back(
              options.keep_previous_seconds > 0
                  ? std::vector<std::string>{"EXPIRE", key,
                                             std::to_string(options.keep_previous_seconds)}
                  : std::vector<std::string>{"UNLINK", key});
        redis.pipeline(expire);
        report.previous_keys += keys.size();
      });
}

}  // namespace

std::string meta_key(const WriteOptions& options) { return shard_meta_key(options, options.shard); }

WriteReport write_vectors(RedisStore& redis, const std::vector<uint64_t>& user_raw_ids,
                          const std::vector<float>& vectors, size_t dim,
                          const WriteOptions& options) {
  WriteReport report;
  report.expected = user_raw_ids.size();
  const auto start = std::chrono::steady_clock::now();
  const std::string key_prefix = user_key_prefix(options);
  // Encoding (float formatting dominates: ~60 ns a float) runs one batch ahead on another
  // thread, overlapping the Redis round trip of the batch before it.
  auto encode_batch = [&](size_t begin) {
    const size_t end = std::min(user_raw_ids.size(), begin + options.batch);
    std::vector<SetCommand> batch(end - begin);
    char id[24];
    for (size_t i = begin; i < end; ++i) {
      auto& c = batch[i - begin];
      const auto [id_end, ec] = std::to_chars(id, id + sizeof id, user_raw_ids[i]);
      c.key.assign(key_prefix).append(id, id_end);
      c.value = encode_vector(&vectors[i * dim], dim, options.format);
    }
    return batch;
  };
  try {
    std::future<std::vector<SetCommand>> next;
    if (!user_raw_ids.empty()) next = std::async(std::launch::async, encode_batch, 0);
    for (size_t begin = 0; begin < user_raw_ids.size(); begin += options.batch) {
      std::vector<SetCommand> batch = next.get();
      if (begin + options.batch < user_raw_ids.size())
        next = std::async(std::launch::async, encode_batch, begin + options.batch);
      redis.send(std::move(batch), options.ttl_seconds);
      // Two batches in flight: Redis works on one while the next one travels.
      while (redis.in_flight() > 1) report.written += redis.acknowledge_oldest();
      if (stop_signal() != 0) {  // SIGINT/SIGTERM: what was sent is confirmed, no metadata key
        while (redis.in_flight() > 0) report.written += redis.acknowledge_oldest();
        if (next.valid()) next.wait();
        throw_if_stop_requested("export stopped after " + std::to_string(report.written) + " of " +
                                std::to_string(report.expected) +
                                " users were written; the metadata key " + meta_key(options) +
                                " was not written; rerun the export to complete it (SET "
                                "overwrites)");
      }
    }
    while (redis.in_flight() > 0) report.written += redis.acknowledge_oldest();
    // Written last, so a reader that finds it knows the export is complete.
    nlohmann::json meta = {{"dimension", dim},
                           {"format", to_string(options.format)},
                           {"users", report.written},
                           {"model_fingerprint", options.model_fingerprint},
                           {"key_prefix", key_prefix},
                           {"layout", options.layout == KeyLayout::kPlain ? "plain" : "versioned"},
                           {"written_at", static_cast<int64_t>(std::time(nullptr))}};
    if (options.shards > 1) {
      meta["shard"] = options.shard;
      meta["shards"] = options.shards;
    }
    report.per_node = redis.written_per_node();
    std::vector<std::string> set_meta{"SET", meta_key(options), meta.dump()};
    if (options.ttl_seconds > 0)
      set_meta.insert(set_meta.end(), {"EX", std::to_string(options.ttl_seconds)});
    redis.command(set_meta);
    if (options.layout == KeyLayout::kVersioned && options.switch_version)
      switch_version(redis, options, report);
  } catch (const RedisError& e) {
    throw RedisError(std::string(e.what()) + "; " + std::to_string(report.written) + " of " +
                     std::to_string(report.expected) +
                     " users were written; rerunning the export is safe (SET overwrites)");
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace lti
