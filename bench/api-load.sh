#!/usr/bin/env bash
# Load test of the workloads API: POST /api/v1/workloads and GET /api/v1/workloads/{id}
# at 16 connections (wrk, on this machine), against the release binary on a fresh
# data directory, with 1 000 and then 10 000 workloads stored.
#
#   bench/api-load.sh [SECONDS_PER_RUN]      (default 10)
#
# Reads are measured after the dispatcher has run every run the creates queued
# (it takes both cores while it works through them).
# Needs target/release/tally (built by ./tally.sh run) and wrk (installed from
# Debian's packages when missing). Prints requests/s and p50/p99 latency per run,
# and the ratio of throughput at 10 000 to throughput at 1 000 stored workloads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${1:-10}"
BIN="$ROOT/target/release/tally"

[ -x "$BIN" ] || { echo "error: $BIN is missing: build it with ./tally.sh run" >&2; exit 1; }

# shellcheck source=bench/server.sh
. "$ROOT/bench/server.sh"
# shellcheck source=bench/workloads.sh
. "$ROOT/bench/workloads.sh"
ensure_wrk
write_wrk_scripts

start_server
load_table

# Sends requests from 16 threads (not timed): `many post N` creates N workloads,
# `many get` reads every id in $WORK/ids.lua once. (wrk runs for its whole
# duration even when its threads have stopped early.)
many() {
  python3 - "$BASE" "$BODY" "$WORK/ids.lua" "$@" <<'PY'
import sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
base, body, ids_file, what = sys.argv[1:5]
def post(_):
    req = urllib.request.Request(f"{base}/api/v1/workloads", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
def get(i):
    urllib.request.urlopen(f"{base}/api/v1/workloads/{i}").read()
if what == "post":
    jobs, work = range(int(sys.argv[5])), post
else:
    text = open(ids_file).read()
    jobs, work = [int(i) for i in text[text.index("{") + 1:text.rindex("}")].split(",") if i], get
with ThreadPoolExecutor(16) as pool:
    list(pool.map(work, jobs))
PY
}

# Creates workloads until COUNT are stored (not timed).
fill_to() {
  local have
  have="$(stored)"
  [ "$have" -lt "$1" ] && many post $(($1 - have))
  return 0
}

run() { # name url script
  wrk_at "$1" "$3" "$2"
  echo "  runs queued or running after: $(backlog)"
}

# GET by id at $1 stored: once the runs are done, an untimed pass reads every
# stored id once, as a running server would have read them, then the timed run.
get_run() {
  drain
  list_ids
  many get
  run "GET /workloads/{id} ($1 stored)" "$BASE" "$WORK/get.lua"
}

echo "wrk: 2 threads, $CONNECTIONS connections, ${DURATION}s per run; server: $BIN"
fill_to 1000
run "POST /workloads (1 000 stored)" "$BASE/api/v1/workloads" "$WORK/post.lua"
get_run "1 000"
fill_to 10000
run "POST /workloads (10 000 stored)" "$BASE/api/v1/workloads" "$WORK/post.lua"
get_run "10 000"

total="$(stored)"
echo "stored after the runs: $total workloads"
python3 - "${RPS[POST /workloads (1 000 stored)]}" "${RPS[POST /workloads (10 000 stored)]}" \
  "${RPS[GET /workloads/{id} (1 000 stored)]}" "${RPS[GET /workloads/{id} (10 000 stored)]}" <<'PY'
import sys
p1, p10, g1, g10 = map(float, sys.argv[1:])
print(f"throughput at 10 000 / at 1 000 stored: POST {p10 / p1:.2f}x, GET {g10 / g1:.2f}x (flat = within 0.80-1.20)")
PY

# Every acknowledged create must survive a restart.
stop_server
start_server
echo "stored after a restart: $(stored) workloads"
