#!/usr/bin/env bash
# Peak RSS as the data grows in users (issue 6): the Tianchi preset at 1x, 2x and 4x the users
# and rows (same item catalogue and categories), through ingest alone (bench_ingest) and
# through `lti train` with the default model for one step (ingest + model + one step).
#   SCALES="1 2 4" STEPS=1 scripts/bench-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-/tmp/lti-bench}/memory
mkdir -p "$OUT"
printf '%-6s %-10s %-12s %-14s %-14s %-14s\n' scale users rows ingest_GiB ingest_s train_GiB
for scale in ${SCALES:-1 2 4}; do
  users=$((10000 * scale))
  rows=$((12256906 * scale))
  data="$OUT/x$scale"
  [ -f "$data/train.csv" ] ||
    build/lti synth --preset tianchi --users "$users" --rows "$rows" -o "$data/train.csv" >/dev/null 2>&1
  /usr/bin/time -o "$OUT/ingest.time" -f "%M %e" build/bench_ingest "$data/train.csv" >/dev/null 2>&1
  ingest=$(tail -1 "$OUT/ingest.time")
  # No validation users: the figure is ingest + model + optimiser + a training step.
  /usr/bin/time -o "$OUT/train.time" -f "%M" build/lti --log_level warn train --data_path "$data" \
    --save_dir "$OUT/model-x$scale" --epochs 1 --max_steps "${STEPS:-1}" --val_fraction 0 \
    >/dev/null 2>&1
  train=$(tail -1 "$OUT/train.time")
  awk -v s="${scale}x" -v u="$users" -v r="$rows" -v ik="${ingest% *}" -v is="${ingest#* }" \
    -v tk="$train" 'BEGIN { printf "%-6s %-10s %-12s %-14.2f %-14s %-14.2f\n", s, u, r, ik / 1048576, is, tk / 1048576 }'
done
