#!/usr/bin/env bash
# The main job end to end on a fresh machine: install, build, generate Tianchi-format data
# (the real file cannot be downloaded here), summarise it, train the model, publish every
# user's vector to a local Redis and read one back.
# Environment: CONFIG (default configs/small.toml, a model that trains in minutes on a laptop
# CPU; configs/default.toml is the full-size model), DATA_DIR, SAVE_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
TARGETS=lti scripts/build.sh  # lti alone: the tests are scripts/test.sh's

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

# Publish every user's vector to a local Redis started on a free port, and read one back.
PORT=${REDIS_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
REDIS_DIR=$(mktemp -d /tmp/lti-redis-XXXXXX)
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save "" --appendonly no \
  --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
$LTI export --data_path "$DATA_DIR" --save_dir "$SAVE_DIR" --redis "127.0.0.1:$PORT"

USER_ID=$(sed -n 2p "$CSV" | cut -d, -f1)
echo "metadata: $(redis-cli -p "$PORT" GET lti:meta)"
echo "vector of user $USER_ID (redis-cli -p $PORT GET $USER_ID):"
redis-cli -p "$PORT" GET "$USER_ID"
echo "Redis keeps serving on 127.0.0.1:$PORT; stop it with: kill \$(cat $REDIS_DIR/redis.pid)"
