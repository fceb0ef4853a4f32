// Publishing user vectors to Redis: one key per user (the raw user id, optionally prefixed),
// values as JSON arrays or raw float32, written in pipelined batches, metadata key last.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lti/redis_client.h"

namespace lti {

enum class VectorFormat { kJson, kF32 };

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
};

// `<prefix>lti:meta`, or `<prefix>lti:meta:<shard>-of-<shards>` for one shard of an export.
std::string meta_key(const WriteOptions& options);

struct WriteReport {
  uint64_t expected = 0;
  uint64_t written = 0;
  double seconds = 0;
};

// Writes vectors[i * dim .. (i + 1) * dim) under key prefix + user_raw_ids[i], then the
// metadata key `<prefix>lti:meta` (JSON: dimension, format, users, model fingerprint, time).
// On failure throws RedisError saying how many users were written and that a rerun is safe.
WriteReport write_vectors(RedisClient& redis, const std::vector<uint64_t>& user_raw_ids,
                          const std::vector<float>& vectors, size_t dim,
                          const WriteOptions& options);

}  // namespace lti
