#!/usr/bin/env bash
# The test command of the README: installs dependencies, builds, and runs the whole test
# suite under CTest. Tests that need Redis start their own redis-server on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
