#!/usr/bin/env bash
# Fuzzes the CSV reader and the encoder file format with libFuzzer (clang), under AddressSanitizer
# and UndefinedBehaviorSanitizer.
#   scripts/fuzz.sh                 # both targets, 300 s each
#   SECONDS_PER_TARGET=3600 scripts/fuzz.sh csv_reader
# Corpora grow in build-fuzz/corpus/<target>/ (seeded from tests/fuzz/<target>/); a failing
# input is written to build-fuzz/crash-*: copy it into tests/fuzz/<target>/ so that the
# regression test (FuzzRegressions.*) replays it in every build from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang++ >/dev/null || {
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get install -y --no-install-recommends clang
}
[ $# -gt 0 ] || set -- csv_reader encoder_file
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLTI_FUZZ=ON -DLTI_BUILD_TESTS=OFF -DLTI_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
for t in "$@"; do cmake --build build-fuzz -j "$(nproc)" --target "fuzz_$t"; done
for t in "$@"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "== fuzz_$t for ${SECONDS_PER_TARGET:-300} s"
  (cd build-fuzz && "./fuzz_$t" -max_total_time="${SECONDS_PER_TARGET:-300}" -max_len=65536 \
    -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "corpus/$t" "../tests/fuzz/$t")
done
