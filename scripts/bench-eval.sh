#!/usr/bin/env bash
# Representation quality at scale (issue 5): planted-interest data, 20,000 users with about
# 300 interactions each, trained in several variants; prints lti eval's table for each.
#   scripts/bench-eval.sh                      # the variants below, two at a time
#   CONFIG=configs/default.toml EPOCHS=1 scripts/bench-eval.sh   # the full-size model
# Each variant trains with one thread so that two run side by side on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-/tmp/lti-bench}/eval
CONFIG=${CONFIG:-configs/small.toml}
EPOCHS=${EPOCHS:-5}
USERS=${USERS:-20000}
mkdir -p "$OUT"
DATA="$OUT/data-$USERS"
[ -f "$DATA/train.csv" ] ||
  build/lti synth -o "$DATA/train.csv" --users "$USERS" --rows $((USERS * 300)) \
    --items $((USERS * 30)) --categories 2000 --seed 7
variants=(
  "objective-1_balance-divide:--bpr_scale 1 --moe_balance divide --loss bpr"
  "objective-1_balance-none:--bpr_scale 1 --moe_balance none --loss bpr"
  "objective-10_balance-divide:--bpr_scale 10 --moe_balance divide --loss bpr"
  "objective-10_balance-none:--bpr_scale 10 --moe_balance none --loss bpr"
)
run() {
  local name=${1%%:*} flags=${1#*:}
  local dir="$OUT/$(basename "$CONFIG" .toml)-$name"
  # shellcheck disable=SC2086
  /usr/bin/time -f "$name: train wall %e s, peak RSS %M KiB" \
    build/lti --config "$CONFIG" train --data_path "$DATA" --save_dir "$dir" --epochs "$EPOCHS" \
    --threads 1 $flags >"$dir.log" 2>&1 || { tail -5 "$dir.log"; return 1; }
  tail -1 "$dir.log"
  build/lti --config "$CONFIG" eval --data_path "$DATA" --save_dir "$dir" --threads 1 \
    >"$dir.eval" 2>/dev/null
}
for ((i = 0; i < ${#variants[@]}; i += 2)); do
  run "${variants[i]}" &
  [ $((i + 1)) -lt ${#variants[@]} ] && run "${variants[i + 1]}" &
  wait
done
for v in "${variants[@]}"; do
  name=${v%%:*}
  echo "== $name ($CONFIG, $EPOCHS epochs, $USERS users)"
  cat "$OUT/$(basename "$CONFIG" .toml)-$name.eval"
done
