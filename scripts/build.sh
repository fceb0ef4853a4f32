#!/usr/bin/env bash
# Configures and builds lti (Release) into build/. Extra arguments go to cmake.
#   scripts/build.sh                 # everything: lti, the tests, the benchmarks
#   TARGETS=lti scripts/build.sh     # only what is named (scripts/run-main.sh builds lti alone)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
# shellcheck disable=SC2086
cmake --build build -j "$(nproc)" ${TARGETS:+--target $TARGETS}
