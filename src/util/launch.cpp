#include "lti/util/launch.h"

#include <charconv>
#include <cstdlib>

#include "lti/util/errors.h"
#include "lti/util/rng.h"

namespace lti {

namespace {

// The whole of `text` as an integer; false for empty text, other characters or overflow.
bool parse_int(const std::string& text, int& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

// The variable as an integer in [low, high], or `fallback` when it is not set.
int int_variable(const char* name, int fallback, int low, int high) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  int value = 0;
  if (!parse_int(text, value) || value < low || value > high)
    throw Error(kExitUsage, std::string("environment variable ") + name + "='" + text +
                                "' is not an integer in [" + std::to_string(low) + ", " +
                                std::to_string(high) + "]");
  return value;
}

}  // namespace

LaunchEnvironment LaunchEnvironment::from_environment() {
  LaunchEnvironment env;
  const bool has_rank = std::getenv("RANK") != nullptr;
  const bool has_world = std::getenv("WORLD_SIZE") != nullptr;
  if (has_rank != has_world)
    throw Error(kExitUsage, "RANK and WORLD_SIZE must be set together (or neither)");
  env.world_size = int_variable("WORLD_SIZE", 1, 1, 1 << 20);
  env.rank = int_variable("RANK", 0, 0, env.world_size - 1);
  env.local_rank = int_variable("LOCAL_RANK", env.rank, 0, 1 << 20);
  env.master_port = int_variable("MASTER_PORT", env.master_port, 1, 65535);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) env.master_addr = addr;
  if (const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE"))
    env.agent_store = std::string(agent) == "True" || std::string(agent) == "1";
  if (env.distributed() && !std::getenv("MASTER_ADDR"))
    throw Error(kExitUsage,
                "WORLD_SIZE > 1 needs MASTER_ADDR (and MASTER_PORT) for the rendezvous");
  return env;
}

Shard Shard::parse(const std::string& spec) {
  Shard s;
  if (spec.empty()) {
    const LaunchEnvironment env = LaunchEnvironment::from_environment();
    s.index = env.rank;
    s.count = env.world_size;
    return s;
  }
  const auto slash = spec.find('/');
  if (slash == std::string::npos || !parse_int(spec.substr(0, slash), s.index) ||
      !parse_int(spec.substr(slash + 1), s.count) || s.count < 1 || s.index < 0 ||
      s.index >= s.count)
    throw Error(kExitUsage, "--shard must be i/N with 0 <= i < N, not '" + spec + "'");
  return s;
}

bool Shard::contains(uint64_t raw_user_id) const {
  if (count == 1) return true;
  uint64_t state = raw_user_id ^ 0x5348415244ull;  // "SHARD": independent of the val split
  return splitmix64(state) % static_cast<uint64_t>(count) == static_cast<uint64_t>(index);
}

}  // namespace lti
