#!/usr/bin/env bash
# The main job end to end on a fresh machine: install, build, generate Tianchi-format data
# (the real file cannot be downloaded here) and summarise it.
# Environment: USERS, ROWS, ITEMS, CATEGORIES size the synthetic data; DATA_DIR where it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

DATA_DIR=${DATA_DIR:-DATA/train_user}
CSV="$DATA_DIR/tianchi_mobile_recommend_train_user.csv"
if [ ! -f "$CSV" ]; then
  build/lti --config configs/default.toml synth --output "$CSV" \
    --users "${USERS:-2000}" --rows "${ROWS:-300000}" --items "${ITEMS:-60000}" \
    --categories "${CATEGORIES:-600}"
fi
build/lti --config configs/default.toml inspect --data_path "$DATA_DIR"
