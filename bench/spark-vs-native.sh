#!/usr/bin/env bash
# The same table counted by Tally's engine and by Spark, on this machine: the
# time of each run (queue wait excluded) and their ratio, in one go.
#
#   bench/spark-vs-native.sh [SIZE] [MASTER]     (default 1GB, local[2])
#
# The table is `tally gen-corpus` text of SIZE imported as one string column;
# both runs use the same options (whitespace tokenizer, lowercase) and must
# give the same totals. Needs target/release/tally (./tally.sh run) and the
# PySpark that ./tally.sh test installs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE="${1:-1GB}"
MASTER="${2:-local[2]}"
BIN="$ROOT/target/release/tally"
VENV="${TALLY_CACHE_DIR:-$HOME/.cache/tally}/tools/pyspark-4.3.0"

[ -x "$BIN" ] || { echo "error: $BIN is missing: build it with ./tally.sh run" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || { echo "error: no PySpark at $VENV: ./tally.sh test installs it" >&2; exit 1; }
export PYSPARK_PYTHON="$VENV/bin/python" PYSPARK_DRIVER_PYTHON="$VENV/bin/python" SPARK_LOCAL_IP=127.0.0.1
SPARK_HOME="$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME

# shellcheck source=bench/server.sh
. "$ROOT/bench/server.sh"

echo "==> Writing $SIZE of text"
"$BIN" gen-corpus "$WORK/corpus.txt" --size "$SIZE"
start_server --spark-master "$MASTER" --spark-submit "$SPARK_HOME/bin/spark-submit" --request-timeout 0
echo "==> Importing it"
curl -fsS -X POST -T "$WORK/corpus.txt" -H "content-type: text/plain" \
  "$BASE/api/v1/projects/bench/datasets/spark/tables/corpus?format=text" >/dev/null
rm -f "$WORK/corpus.txt"

python3 - "$BASE" "$SIZE" "$MASTER" <<'PY'
import json, sys, time, urllib.request
base, size, master = sys.argv[1:]

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.load(res)

results = {}
for executor in ("native", "spark"):
    print(f"==> Counting on {executor}", flush=True)
    w = call("POST", "/api/v1/workloads", {
        "workload_type": "wordcount", "name": f"bench {executor}", "src_project": "bench",
        "src_dataset": "spark", "src_table": "corpus", "src_column_name": "line",
        "options": {"tokenizer": "whitespace", "case": "lower"}, "executor": executor})
    run_id = call("GET", f"/api/v1/workloads/{w['id']}/runs")[0]["id"]
    while True:
        run = call("GET", f"/api/v1/runs/{run_id}")
        if run["state"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    if run["state"] != "succeeded":
        sys.exit(f"the {executor} run {run['state']}: {run.get('error')}")
    t = run["timings"]
    results[executor] = (t["count_secs"], t["store_secs"], run["total_words"], run["distinct_words"])

(n_count, n_store, n_words, n_distinct) = results["native"]
(s_count, s_store, s_words, s_distinct) = results["spark"]
if (n_words, n_distinct) != (s_words, s_distinct):
    sys.exit(f"the counts differ: native {n_words}/{n_distinct}, spark {s_words}/{s_distinct}")
print()
print(f"| {size} of text, {n_words:,} words ({n_distinct:,} distinct) | counting | storing results |")
print("| --- | --- | --- |")
print(f"| native (this process, every core) | {n_count:.1f} s | {n_store:.1f} s |")
print(f"| Spark `{master}` | {s_count:.1f} s | {s_store:.1f} s |")
print(f"\nSpark took {s_count / n_count:.1f}x the native engine's counting time.")
PY
