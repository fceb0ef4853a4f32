// Write phase of `lti export` alone: N random H-dimensional vectors into a running Redis.
//   bench_redis_write PORT [USERS] [DIM] [json|f32] [BATCH]
#include <chrono>
#include <cstdio>
#include <string>

#include "lti/rng.h"
#include "lti/vector_writer.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [USERS] [DIM] [json|f32] [BATCH]\n", argv[0]);
    return 2;
  }
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

  lti::RedisOptions options;
  options.address.port = std::stoi(argv[1]);
  lti::RedisClient redis(options);
  const lti::WriteReport r = lti::write_vectors(redis, ids, vectors, dim, write);
  std::printf("%zu users x %zu floats (%s, %zu per pipeline): %.2f s, %.0f users/s\n", users, dim,
              lti::to_string(write.format), write.batch, r.seconds, r.written / r.seconds);
  return r.written == users ? 0 : 1;
}
