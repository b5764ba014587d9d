#!/usr/bin/env bash
# Creates/s and reads/s of the workloads API with one and with two Tally
# processes on one SurrealDB server (release `tally-surrealdb`, SurrealKV
# storage), on this machine: 16 connections in total, split evenly between the
# processes, wrk for SECONDS_PER_RUN each; with one Tally process on the
# embedded database as the baseline, measured in the same run.
#
#   bench/shared-database.sh [SECONDS_PER_RUN]      (default 10)
#
# Needs target/release/tally (./tally.sh run) and builds
# target/release/tally-surrealdb when it is missing (a release SurrealDB with
# the server's features: a long compile on two cores). Every process is on
# this one machine, so two Tally processes share its two cores with the
# database server: the figures show what the network hop to a database server
# costs, and what a second process gives when the database, not Tally, is the
# limit. Reads are measured after the dispatchers have run the runs the creates
# queued, on every stored id.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${1:-10}"
BIN="$ROOT/target/release/tally"
SURREAL="$ROOT/target/release/tally-surrealdb"

[ -x "$BIN" ] || { echo "error: $BIN is missing: build it with ./tally.sh run" >&2; exit 1; }
if [ ! -x "$SURREAL" ]; then
  echo "==> Building tally-surrealdb (release)"
  (cd "$ROOT" && cargo build --release --locked -p tally-server --features surrealdb-server --bin tally-surrealdb)
fi

# shellcheck source=bench/server.sh
. "$ROOT/bench/server.sh"
# shellcheck source=bench/workloads.sh
. "$ROOT/bench/workloads.sh"
ensure_wrk
write_wrk_scripts

PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; PIDS=(); wait 2>/dev/null || true; }
trap 'stop_all; cleanup' EXIT

wait_for() {
  for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "error: $1 did not answer; logs in $WORK:" >&2
  tail -n 20 "$WORK"/*.log >&2
  exit 1
}

# Starts a Tally process on data directory $2 with flags $3...; sets the
# variable named $1 to its URL. (Not "$(start_tally)": the server would hold
# the command substitution's pipe open, and its pid would be lost with the
# subshell.)
start_tally() {
  local var="$1" data="$2" port
  shift 2
  port="$(free_port)"
  TALLY_LOG=warn "$BIN" serve --addr "127.0.0.1:$port" --data-dir "$data" "$@" \
    >/dev/null 2>>"$WORK/tally-$port.log" &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$port/healthz"
  printf -v "$var" 'http://127.0.0.1:%s' "$port"
}

# Creates for DURATION, then (once the runs they queued are done) reads of
# every stored id, through the URLs given at once; rows named "$1, ...".
measure() { # label url...
  local label="$1"
  shift
  BASE="$1"
  wrk_at "creates, $label" "$WORK/post.lua" "${@/%//api/v1/workloads}"
  drain
  list_ids
  wrk_at "reads, $label" "$WORK/get.lua" "$@"
}

echo "wrk: $CONNECTIONS connections in total, ${DURATION}s per run; server: $BIN"

# Baseline: one process on its embedded database.
start_tally BASE "$WORK/embedded"
load_table
measure "1 process, embedded database" "$BASE"
stop_all

DB_PORT="$(free_port)"
"$SURREAL" start --bind "127.0.0.1:$DB_PORT" --user root --pass root --log warn \
  "surrealkv://$WORK/surreal" >"$WORK/surreal.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$DB_PORT/health"
REMOTE=(--db "ws://127.0.0.1:$DB_PORT" --db-user root --db-pass root)

start_tally A "$WORK/shared" "${REMOTE[@]}"
BASE="$A"
load_table
measure "1 process, SurrealDB server" "$A"
start_tally B "$WORK/shared" "${REMOTE[@]}"
measure "2 processes, SurrealDB server" "$A" "$B"

python3 - "${RPS["creates, 1 process, embedded database"]}" "${RPS["reads, 1 process, embedded database"]}" \
  "${RPS["creates, 1 process, SurrealDB server"]}" "${RPS["reads, 1 process, SurrealDB server"]}" \
  "${RPS["creates, 2 processes, SurrealDB server"]}" "${RPS["reads, 2 processes, SurrealDB server"]}" <<'PY'
import sys
ce, re_, c1, r1, c2, r2 = map(float, sys.argv[1:])
print(f"SurrealDB server / embedded, one process: creates {c1 / ce:.2f}x, reads {r1 / re_:.2f}x")
print(f"two processes / one, on the server:       creates {c2 / c1:.2f}x, reads {r2 / r1:.2f}x")
PY
