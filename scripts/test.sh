#!/usr/bin/env bash
# The test command of the README (and of CI): installs dependencies, builds, and runs the whole
# test suite under CTest twice: in the Release build (build/, CUDA LibTorch, NCCL) and in a build with
# AddressSanitizer and UndefinedBehaviorSanitizer (build-sanitize/). Tests that need Redis start
# their own redis-server on a free loopback port.
#   scripts/test.sh            # both builds
#   LTI_SKIP_SANITIZE=1 scripts/test.sh   # the Release build only (a quicker local check)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The CUDA LibTorch of the wheel, with NCCL: CI compiles and links the CUDA code paths, and runs
# the suite with that binary on the CPU.
scripts/build.sh -DLTI_NCCL=ON
if ! readelf -d build/lti | grep -q 'libtorch_cuda.so'; then
  echo "test.sh: build/lti is not linked with a CUDA LibTorch (libtorch_cuda.so)" >&2
  exit 1
fi
ctest --test-dir build --output-on-failure -j "$(nproc)"
if [ -z "${LTI_SKIP_SANITIZE:-}" ]; then
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLTI_SANITIZE=address,undefined
  cmake --build build-sanitize -j "$(nproc)" --target lti lti_data_tests lti_model_tests lti_cuda_tests
  # Any finding fails its test: an ASan error, a leak at exit, undefined behaviour.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)"
fi
