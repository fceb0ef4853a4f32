#!/usr/bin/env bash
# Benchmark: synthesize the full Tianchi-scale preset, then time ingest (parse, encode, sort,
# split, features). Prints wall seconds, rows/s and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-/tmp/lti-bench}
mkdir -p "$OUT"
echo "== lti synth --preset tianchi"
/usr/bin/time -f "synth wall %e s, peak RSS %M KiB" build/lti synth --preset tianchi -o "$OUT/train.csv"
echo "== ingest"
/usr/bin/time -f "ingest wall %e s, peak RSS %M KiB" build/bench_ingest "$OUT/train.csv"
