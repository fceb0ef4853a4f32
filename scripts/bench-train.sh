#!/usr/bin/env bash
# Training throughput at the default configuration with the full Tianchi-scale vocabulary:
# tokens/s, steps/s, peak RSS, the time split of a step and the fraction of the matmul peak.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-/tmp/lti-bench}
mkdir -p "$OUT"
[ -f "$OUT/train.csv" ] || build/lti synth --preset tianchi -o "$OUT/train.csv"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" build/bench_train "$OUT/train.csv" "${STEPS:-3}" "${BATCH:-256}"
