// Write phase of `lti export` alone: N random H-dimensional vectors into a running Redis, one
// server or a Redis Cluster (detected as `lti export` does).
//   bench_redis_write ADDRESS[,ADDRESS...] [USERS] [DIM] [json|f32] [BATCH]
// ADDRESS: host:port, or a bare port on 127.0.0.1.
#include <chrono>
#include <cstdio>
#include <string>

#include "lti/publish/redis_cluster.h"
#include "lti/publish/vector_writer.h"
#include "lti/util/rng.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ADDRESS[,ADDRESS...] [USERS] [DIM] [json|f32] [BATCH]\n",
                 argv[0]);
    return 2;
  }
  const std::string where = argv[1];
  const size_t users = argc > 2 ? std::stoul(argv[2]) : 1000000;
  const size_t dim = argc > 3 ? std::stoul(argv[3]) : 128;
  lti::WriteOptions write;
  write.format = lti::parse_vector_format(argc > 4 ? argv[4] : "json");
  write.batch = argc > 5 ? std::stoul(argv[5]) : 1000;
  write.key_prefix = "bench:";

  std::vector<uint64_t> ids(users);
  std::vector<float> vectors(users * dim);
  lti::Rng rng(1);
  for (size_t u = 0; u < users; ++u) ids[u] = 10000000 + u * 13;
  for (auto& x : vectors) x = static_cast<float>(rng.uniform() * 4 - 2);  // like LayerNorm output

  const auto addresses = lti::parse_redis_addresses(
      where.find(':') == std::string::npos ? "127.0.0.1:" + where : where);
  lti::RedisOptions options;
  options.address = addresses.front();
  const auto redis = lti::open_redis(addresses, options, false, 60);
  const lti::WriteReport r = lti::write_vectors(*redis, ids, vectors, dim, write);
  std::printf("%s: %zu users x %zu floats (%s, %zu per pipeline): %.2f s, %.0f users/s\n",
              redis->describe().c_str(), users, dim, lti::to_string(write.format), write.batch,
              r.seconds, r.written / r.seconds);
  return r.written == users ? 0 : 1;
}
