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
CONNECTIONS=16
THREADS=2

[ -x "$BIN" ] || { echo "error: $BIN is missing: build it with ./tally.sh run" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "==> Installing wrk (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi

# shellcheck source=bench/server.sh
. "$ROOT/bench/server.sh"

start_server
printf 'word,n\nhello,1\nworld,2\n' |
  curl -fs -X POST --data-binary @- "$BASE/api/v1/projects/bench/datasets/load/tables/words?format=csv" >/dev/null

BODY='{"workload_type":"wordcount","name":"load test","src_project":"bench","src_dataset":"load","src_table":"words","src_column_name":"word"}'

cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
LUA

# GETs pick among the ids that exist (ids are never reused, so a create cut off
# when wrk stops leaves a gap), listed in $WORK/ids.lua by list_ids.
cat >"$WORK/get.lua" <<'LUA'
local ids = dofile(os.getenv("IDS"))
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/workloads/" .. ids[math.random(1, #ids)])
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
LUA

total() { curl -fsI "$BASE/api/v1/workloads?limit=1$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-total-count"{print $2}'; }
stored() { total ""; }
# Runs the creates queued and the dispatcher has not finished yet.
backlog() { echo $(($(total "&status=queued") + $(total "&status=running"))); }

list_ids() {
  python3 - "$BASE" >"$WORK/ids.lua" <<'PY'
import json, sys, urllib.request
ids, offset = [], 0
while True:
    with urllib.request.urlopen(f"{sys.argv[1]}/api/v1/workloads?limit=1000&offset={offset}") as r:
        page = json.load(r)
    ids += [w["id"] for w in page]
    offset += len(page)
    if len(page) < 1000:
        break
print("return {" + ",".join(map(str, ids)) + "}")
PY
}

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

declare -A RPS
run() { # name url script
  local name="$1" out rps p50 p99 errors
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$3" "$2")"
  rps="$(awk '/^Requests\/sec/{print $2}' <<<"$out")"
  p50="$(awk '$1=="50%"{print $2}' <<<"$out")"
  p99="$(awk '$1=="99%"{print $2}' <<<"$out")"
  errors="$(awk '/^non-2xx answers/{print $3}' <<<"$out")"
  RPS[$name]="$rps"
  printf '%-34s %10s req/s   p50 %8s   p99 %8s   non-2xx %s   runs queued or running after: %s\n' \
    "$name" "$rps" "$p50" "$p99" "${errors:-0}" "$(backlog)"
}

# Waits (up to 5 minutes) for the dispatcher to finish the runs the creates
# queued, so that reads are measured on their own; prints how long it took.
drain() {
  local started=$SECONDS left
  left="$(backlog)"
  while [ "$left" -gt 0 ] && [ $((SECONDS - started)) -lt 300 ]; do
    sleep 1
    left="$(backlog)"
  done
  echo "dispatcher finished the queued runs in $((SECONDS - started)) s ($left left)"
}

# GET by id at $1 stored: once the runs are done, an untimed pass reads every
# stored id once, as a running server would have read them, then the timed run.
get_run() {
  drain
  list_ids
  many get
  IDS="$WORK/ids.lua" run "GET /workloads/{id} ($1 stored)" "$BASE" "$WORK/get.lua"
}

echo "wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s per run; server: $BIN"
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
