#!/usr/bin/env bash
# Starts N ranks of an lti command on this machine, as torchrun would, for machines without
# Python:
#   scripts/launch-local.sh 2 build/lti train --data_path DATA/train_user --save_dir saved_models
#   scripts/launch-local.sh 4 build/lti export --redis localhost:6379     # 4 shards of users
# Each rank gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and
# MASTER_PORT (a free port unless MASTER_PORT is set). Rank 0 writes to this terminal; rank i > 0
# to $LTI_LOG_DIR/rank-i.log (default: a new temporary folder, printed). When a rank fails the
# others are stopped (SIGTERM, then SIGKILL for any still running $LAUNCH_KILL_AFTER seconds
# later, default 30, as torchrun does), and the exit code is the first failure's.
set -euo pipefail
if [ $# -lt 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
ranks=$1
shift
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${MASTER_PORT:-}
while [ -z "$port" ] || { [ -z "${MASTER_PORT:-}" ] && port_in_use "$port"; }; do
  port=$((20000 + RANDOM % 40000))
done
logs=${LTI_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/lti-ranks.XXXXXX")}
mkdir -p "$logs"
[ "$ranks" -gt 1 ] && echo "launch-local: $ranks ranks, rendezvous at 127.0.0.1:$port, logs of ranks 1..$((ranks - 1)) in $logs" >&2

declare -A rank_of
for ((r = 0; r < ranks; r++)); do
  if [ "$r" -eq 0 ]; then
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=$ranks LOCAL_WORLD_SIZE=$ranks MASTER_ADDR=127.0.0.1 \
      MASTER_PORT=$port "$@" &
  else
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=$ranks LOCAL_WORLD_SIZE=$ranks MASTER_ADDR=127.0.0.1 \
      MASTER_PORT=$port "$@" >"$logs/rank-$r.log" 2>&1 &
  fi
  rank_of[$!]=$r
done
trap 'kill "${!rank_of[@]}" 2>/dev/null || true' INT TERM

kill_after=${LAUNCH_KILL_AFTER:-30}
killer=
status=0
while [ ${#rank_of[@]} -gt 0 ]; do
  finished=
  code=0
  wait -n -p finished "${!rank_of[@]}" || code=$?
  [ -n "$finished" ] || break
  r=${rank_of[$finished]}
  unset "rank_of[$finished]"
  if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then
    status=$code
    echo "launch-local: rank $r exited with $code; stopping the others" >&2
    [ "$r" -gt 0 ] && tail -5 "$logs/rank-$r.log" >&2
    if [ ${#rank_of[@]} -gt 0 ]; then
      kill "${!rank_of[@]}" 2>/dev/null || true
      # A rank that does not stop on SIGTERM (stuck where it cannot see it) is killed later.
      (
        sleep "$kill_after" >/dev/null 2>&1
        echo "launch-local: ranks still running $kill_after s after SIGTERM; killing them" >&2
        kill -KILL "${!rank_of[@]}" 2>/dev/null
      ) &
      killer=$!
    fi
  fi
done
[ -z "$killer" ] || kill "$killer" 2>/dev/null || true
exit "$status"
