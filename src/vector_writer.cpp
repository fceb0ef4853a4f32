#include "lti/vector_writer.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

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
  std::string out;
  out.reserve(dim * 12 + 2);
  out.push_back('[');
  char buf[32];
  for (size_t i = 0; i < dim; ++i) {
    if (!std::isfinite(values[i]))
      throw Error(kExitFailure, "a user vector holds a non-finite value");
    if (i) out.push_back(',');
    // Shortest representation that round-trips to the same float32 (C++17 to_chars).
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, values[i]);
    out.append(buf, end);
  }
  out.push_back(']');
  return out;
}

WriteReport write_vectors(RedisClient& redis, const std::vector<uint64_t>& user_raw_ids,
                          const std::vector<float>& vectors, size_t dim,
                          const WriteOptions& options) {
  WriteReport report;
  report.expected = user_raw_ids.size();
  const auto start = std::chrono::steady_clock::now();
  std::vector<SetCommand> batch;
  batch.reserve(options.batch);
  char id[24];
  try {
    for (size_t begin = 0; begin < user_raw_ids.size(); begin += options.batch) {
      const size_t end = std::min(user_raw_ids.size(), begin + options.batch);
      batch.resize(end - begin);
      for (size_t i = begin; i < end; ++i) {
        auto& c = batch[i - begin];
        const auto [id_end, ec] = std::to_chars(id, id + sizeof id, user_raw_ids[i]);
        c.key.assign(options.key_prefix).append(id, id_end);
        c.value = encode_vector(&vectors[i * dim], dim, options.format);
      }
      redis.set_all(batch, options.ttl_seconds);
      report.written = end;
    }
    // Written last, so a reader that finds it knows the export is complete.
    nlohmann::json meta = {{"dimension", dim},
                           {"format", to_string(options.format)},
                           {"users", report.written},
                           {"model_fingerprint", options.model_fingerprint},
                           {"key_prefix", options.key_prefix},
                           {"written_at", static_cast<int64_t>(std::time(nullptr))}};
    batch.assign(1, SetCommand{options.key_prefix + "lti:meta", meta.dump()});
    redis.set_all(batch, options.ttl_seconds);
  } catch (const RedisError& e) {
    throw RedisError(std::string(e.what()) + "; " + std::to_string(report.written) + " of " +
                     std::to_string(report.expected) +
                     " users were written; rerunning the export is safe (SET overwrites)");
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace lti
