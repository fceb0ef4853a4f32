#!/usr/bin/env bash
# The main job end to end on a fresh machine: install, build, generate Tianchi-format data
# (the real file cannot be downloaded here), summarise it and train the model.
# Environment: CONFIG (default configs/small.toml, a model that trains in minutes on a laptop
# CPU; configs/default.toml is the full-size model), DATA_DIR, SAVE_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

CONFIG=${CONFIG:-configs/small.toml}
DATA_DIR=${DATA_DIR:-DATA/train_user}
SAVE_DIR=${SAVE_DIR:-saved_models}
CSV="$DATA_DIR/tianchi_mobile_recommend_train_user.csv"
LTI="build/lti --config $CONFIG"

if [ ! -f "$CSV" ]; then
  $LTI synth --output "$CSV"
fi
$LTI inspect --data_path "$DATA_DIR"
$LTI train --data_path "$DATA_DIR" --save_dir "$SAVE_DIR"
