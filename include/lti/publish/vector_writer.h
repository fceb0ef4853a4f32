// Publishing user vectors to Redis: one key per user (the raw user id, optionally prefixed),
// values as JSON arrays or raw float32, written in pipelined batches, metadata key last.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lti/publish/redis_store.h"

namespace lti {

enum class VectorFormat { kJson, kF32 };

// Where the user keys go. plain (the original layout): <prefix><user id>. versioned:
// <prefix><version>:<user id>, the version being the model fingerprint; once every user is
// written, one SET <prefix>lti:current <version> switches every reader to the new model at once
// and the previous version's keys are left to expire (readers still on it finish).
enum class KeyLayout { kPlain, kVersioned };
KeyLayout parse_key_layout(const std::string& name);  // "plain" or "versioned"

VectorFormat parse_vector_format(const std::string& name);  // "json" or "f32"
const char* to_string(VectorFormat format);

// JSON: "[f1,f2,...]", each float in the shortest form that parses back to the same float32.
// f32: the raw little-endian float32 bytes (the layout Redis vector search uses).
std::string encode_vector(const float* values, size_t dim, VectorFormat format);

struct WriteOptions {
  std::string key_prefix;
  int64_t ttl_seconds = 0;  // 0 = keys do not expire
  size_t batch = 1000;      // SET commands per pipeline
  VectorFormat format = VectorFormat::kJson;
  std::string model_fingerprint;
  int shard = 0, shards = 1;  // a sharded export: meta key <prefix>lti:meta:<shard>-of-<shards>
  KeyLayout layout = KeyLayout::kPlain;
  // Versioned layout: the TTL of the previous version's keys after the switch (0: delete them),
  // and whether to switch lti:current at all (an incremental refresh does not).
  int64_t keep_previous_seconds = 86400;
  bool switch_version = true;
};

// The prefix of every user key: <prefix>, or <prefix><version>: in the versioned layout.
std::string user_key_prefix(const WriteOptions& options);
// `<prefix>lti:current`: the version readers use (versioned layout).
std::string current_key(const WriteOptions& options);
// `<prefix>lti:meta`, or `<prefix>lti:meta:<shard>-of-<shards>` for one shard of an export; in
// the versioned layout under the version's prefix (`<prefix><version>:lti:meta...`).
std::string meta_key(const WriteOptions& options);

struct WriteReport {
  uint64_t expected = 0;
  uint64_t written = 0;
  double seconds = 0;
  // Versioned layout: whether this export switched lti:current (a sharded export switches when
  // its last shard is done), from which version, and how many of that version's keys now expire.
  bool switched = false;
  std::string previous_version;
  uint64_t previous_keys = 0;
  // Users acknowledged per server "host:port" (one entry for a single server).
  std::vector<std::pair<std::string, uint64_t>> per_node;
};

// Writes vectors[i * dim .. (i + 1) * dim) under user_key_prefix + user_raw_ids[i], then the
// metadata key (JSON: dimension, format, users, model fingerprint, time) and, in the versioned
// layout, switches lti:current once every shard's metadata key is there.
// On failure throws RedisError saying how many users were written and that a rerun is safe.
WriteReport write_vectors(RedisStore& redis, const std::vector<uint64_t>& user_raw_ids,
                          const std::vector<float>& vectors, size_t dim,
                          const WriteOptions& options);

}  // namespace lti
