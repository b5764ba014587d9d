# Sourced by the API benchmarks (api-load.sh, shared-database.sh): wrk, the
# workload they create, and helpers that read a server's state. They need
# WORK (a scratch directory) and BASE (the server to ask) set by the caller.
#
#   ensure_wrk                 installs wrk from Debian's packages when missing
#   write_wrk_scripts          $WORK/post.lua (creates) and $WORK/get.lua (reads)
#   load_table                 the two-row table the workloads count
#   total FILTER / stored      X-Total-Count of the workloads list
#   backlog / drain            runs still queued or running; wait for none
#                              (and say how many failed)
#   list_ids                   every stored id, as $WORK/ids.lua for get.lua
#   wrk_at NAME SCRIPT URL...  one timed load, its connections split over URLs

BODY='{"workload_type":"wordcount","name":"load test","src_project":"bench","src_dataset":"load","src_table":"words","src_column_name":"word"}'
CONNECTIONS="${CONNECTIONS:-16}"
declare -A RPS

ensure_wrk() {
  command -v wrk >/dev/null && return 0
  echo "==> Installing wrk (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
}

# GETs pick among the ids that exist (ids are never reused, and a process
# reserves them in blocks, so the stored ids have gaps), listed in
# $WORK/ids.lua by list_ids.
write_wrk_scripts() {
  cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
LUA
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
}

load_table() {
  printf 'word,n\nhello,1\nworld,2\n' |
    curl -fs -X POST --data-binary @- "$BASE/api/v1/projects/bench/datasets/load/tables/words?format=csv" >/dev/null
}

total() { curl -fsI "$BASE/api/v1/workloads?limit=1$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-total-count"{print $2}'; }
stored() { total ""; }
# Runs the creates queued and the dispatchers have not finished yet.
backlog() { echo $(($(total "&status=queued") + $(total "&status=running"))); }

# Waits (up to 5 minutes) for the dispatchers to finish the runs the creates
# queued, so that reads are measured on their own; prints how long it took.
drain() {
  local started=$SECONDS left
  left="$(backlog)"
  while [ "$left" -gt 0 ] && [ $((SECONDS - started)) -lt 300 ]; do
    sleep 1
    left="$(backlog)"
  done
  echo "dispatchers finished the queued runs in $((SECONDS - started)) s ($left left, $(total "&status=failed") failed)"
}

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

# The highest of wrk's PERCENTILE latencies in the given outputs, in ms.
worst_latency() { # percentile file...
  local pct="$1"
  shift
  awk -v pct="$pct" '$1 == pct {
    v = $2; unit = v; sub(/^[0-9.]+/, "", unit); v += 0
    ms = unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : unit == "m" ? v * 60000 : v
    if (ms > worst) worst = ms
  } END { printf "%.2fms", worst }' "$@"
}

# One timed load: wrk with SCRIPT for DURATION seconds against every URL at
# once, CONNECTIONS split evenly between them. Prints the summed requests/s,
# the slowest p50 and p99 and the non-2xx answers; keeps req/s in RPS[NAME].
wrk_at() {
  local name="$1" script="$2" i=0 loaders=()
  shift 2
  local per=$((CONNECTIONS / $#)) threads=$(( $# > 1 ? 1 : 2 ))
  for url in "$@"; do
    IDS="$WORK/ids.lua" wrk -t"$threads" -c"$per" -d"${DURATION}s" --latency -s "$script" "$url" >"$WORK/wrk.$i" &
    loaders+=($!)
    i=$((i + 1))
  done
  local pid
  for pid in "${loaders[@]}"; do wait "$pid"; done
  local rps p50 p99 errors
  rps="$(awk '/^Requests\/sec/{s += $2} END {printf "%.0f", s}' "$WORK"/wrk.*)"
  p50="$(worst_latency 50% "$WORK"/wrk.*)"
  p99="$(worst_latency 99% "$WORK"/wrk.*)"
  errors="$(awk '/^non-2xx answers/{s += $3} END {print s + 0}' "$WORK"/wrk.*)"
  rm -f "$WORK"/wrk.*
  RPS[$name]="$rps"
  printf '%-40s %8s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "$errors"
}
