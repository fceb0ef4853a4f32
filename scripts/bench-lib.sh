# Shared by the benchmark scripts (sourced, not run).

# Debian's default (pthread) OpenBLAS, which builds before issue 13 were installed with;
# `LD_LIBRARY_PATH=$PTHREAD_BLAS_DIR` runs a binary on it (OLD_BLAS=1 in the bench scripts).
# shellcheck disable=SC2034  # read by the scripts that source this file
PTHREAD_BLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread

# A free TCP port on the loopback interface.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis DIR PORT [redis-server args...]: a redis-server without persistence on PORT,
# daemonised, its pid in DIR/redis.pid and log in DIR/redis.log; returns once it answers.
start_redis() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "redis-server on port $port did not start (see $dir/redis.log)" >&2
  return 1
}

# The commit before the move to LibTorch 2.15 (issue 23): the build the benchmarks compare with.
# shellcheck disable=SC2034
DEBIAN_TORCH_COMMIT=fff1236

# old_lti OUT COMMIT: prints the path of the lti executable built at COMMIT, building it once
# beside this checkout (a git worktree in OUT/lti-COMMIT; lti and bench_train). Commits up to
# fff1236 build against Debian's LibTorch 1.13 (libtorch-dev, with the OpenMP OpenBLAS), which
# is installed for that here if missing; today's build does not use it.
old_lti() {
  local out=$1 commit=$2
  if [ ! -x "$out/lti-$commit/build/lti" ]; then
    echo "building lti at $commit in $out/lti-$commit (once)" >&2
    if ! dpkg-query -W -f='${Status}' libtorch-dev 2>/dev/null | grep -q "install ok installed"; then
      echo "installing Debian's libtorch-dev (LibTorch 1.13) for the old build" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libtorch-dev libopenblas0-openmp >&2
    fi
    local arch=x86_64-linux-gnu lib
    for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
      update-alternatives --quiet --set "$lib-$arch" "/usr/lib/$arch/openblas-openmp/$lib" >&2 || true
    done
    git worktree add -f "$out/lti-$commit" "$commit" >/dev/null
    cmake -S "$out/lti-$commit" -B "$out/lti-$commit/build" -DCMAKE_BUILD_TYPE=Release \
      -DLTI_BUILD_TESTS=OFF >/dev/null
    cmake --build "$out/lti-$commit/build" -j2 --target lti bench_train >/dev/null
  fi
  echo "$out/lti-$commit/build/lti"
}
