#!/usr/bin/env bash
# Data-parallel scaling on one machine: the same global batch trained by one process with all
# CPUs and by N local Gloo ranks (scripts/launch-local.sh), each with CPUs / N threads.
# Prints tokens/s (all ranks together) of one epoch cut at STEPS steps.
#   RANKS="1 2" STEPS=20 CONFIG=configs/small.toml scripts/bench-distributed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-/tmp/lti-bench}/distributed
CONFIG=${CONFIG:-configs/small.toml}
mkdir -p "$OUT"
DATA="$OUT/data"
[ -f "$DATA/train.csv" ] ||
  build/lti synth -o "$DATA/train.csv" --users 20000 --rows 6000000 --items 600000 \
    --categories 2000 --seed 7 >/dev/null 2>&1
for ranks in ${RANKS:-1 2}; do
  rm -rf "$OUT/model-$ranks"
  start=$(date +%s.%N)
  LTI_LOG_DIR="$OUT/logs-$ranks" scripts/launch-local.sh "$ranks" build/lti --config "$CONFIG" \
    train --data_path "$DATA" --save_dir "$OUT/model-$ranks" --epochs 1 \
    --max_steps "${STEPS:-20}" >"$OUT/rank0-$ranks.log" 2>&1
  end=$(date +%s.%N)
  line=$(grep -o "epoch 1 loss .* tokens/s" "$OUT/rank0-$ranks.log" | tail -1)
  echo "$ranks rank(s): $(echo "$line" | awk '{ print $(NF - 1) }') tokens/s (wall $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }') s with ingest and validation)"
done
