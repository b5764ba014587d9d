#!/usr/bin/env bash
# End-to-end cost of a run against the engine alone, and the cost of storing a
# large result.
#
#   bench/run-e2e.sh [SIZE]        (default 1GB)
#
# 1. Generates SIZE of text, imports it as a text table (not timed), times
#    `tally count` on the same text as a file (the engine alone, the baseline),
#    then runs a workload over the table's `line` column through the server and
#    reports its queue wait, scan+count and store times from the run record, and
#    the dispatcher's overhead over the baseline.
# 2. Runs a workload over a column of 1 000 000 distinct words and reports the
#    time to store its results and to serve the first page.
#
# Needs target/release/tally (./tally.sh run builds it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE="${1:-1GB}"
BIN="$ROOT/target/release/tally"
[ -x "$BIN" ] || { echo "error: $BIN is missing: build it with ./tally.sh run" >&2; exit 1; }

# shellcheck source=bench/server.sh
. "$ROOT/bench/server.sh"

echo "==> Generating $SIZE of text"
"$BIN" gen-corpus "$WORK/corpus.txt" --size "$SIZE"
python3 -c 'import sys; [print(f"w{i:07d}") for i in range(1_000_000)]' >"$WORK/distinct.txt"

start_server

echo "==> Importing both as text tables (not timed)"
curl -fsS -X POST -T "$WORK/corpus.txt" "$BASE/api/v1/projects/bench/datasets/e2e/tables/corpus?format=text" >/dev/null
curl -fsS -X POST -T "$WORK/distinct.txt" "$BASE/api/v1/projects/bench/datasets/e2e/tables/distinct?format=text" >/dev/null

echo "==> Baseline: tally count on the text file"
start=$(date +%s.%N)
"$BIN" count "$WORK/corpus.txt" --format json --top 1 >"$WORK/cli.json"
end=$(date +%s.%N)
CLI_SECS=$(python3 -c "print($end - $start)")

# Creates a workload over bench.e2e.TABLE.line; waits for its run; prints the run.
# Polls once a second with curl alone: a busier poll (or a Python start-up per
# poll) would take CPU from the run it measures.
run_workload() {
  local table="$1" id state
  id=$(curl -fsS -H 'content-type: application/json' -d "{\"workload_type\":\"wordcount\",\"name\":\"bench $table\",\"src_project\":\"bench\",\"src_dataset\":\"e2e\",\"src_table\":\"$table\",\"src_column_name\":\"line\"}" \
    "$BASE/api/v1/workloads" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  while :; do
    sleep 1
    state=$(curl -fsS "$BASE/api/v1/workloads/$id" | grep -o '"status":"[a-z]*"' | head -1 | cut -d'"' -f4)
    case "$state" in
      succeeded) break ;;
      failed|cancelled) echo "error: run ended $state" >&2; exit 1 ;;
    esac
  done
  curl -fsS "$BASE/api/v1/workloads/$id/runs" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0]))'
}

echo "==> The same count as a workload run"
RUN=$(run_workload corpus)
python3 - "$RUN" "$CLI_SECS" "$WORK/cli.json" <<'PY'
import json, sys
run, cli_secs, cli = json.loads(sys.argv[1]), float(sys.argv[2]), json.load(open(sys.argv[3]))
t = run["timings"]
assert run["total_words"] == cli["stats"]["total_words"], (run["total_words"], cli["stats"]["total_words"])
assert run["distinct_words"] == cli["stats"]["distinct_words"]
print(f"tally count (file, engine alone):   {cli_secs:7.2f} s   ({cli['stats']['total_words']} words, {cli['stats']['distinct_words']} distinct: same counts as the run)")
print(f"run: queue wait                     {t['queue_secs']:7.2f} s")
print(f"run: scan + count (overlapped)      {t['count_secs']:7.2f} s")
print(f"run: store results                  {t['store_secs']:7.2f} s")
total = t["queue_secs"] + t["count_secs"] + t["store_secs"]
print(f"run: total                          {total:7.2f} s")
print(f"dispatcher + storage overhead over the engine alone: {100 * (total - cli_secs) / cli_secs:+.1f} %")
PY

echo "==> 1 000 000 distinct words"
RUN=$(run_workload distinct)
RID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$RUN")
python3 - "$RUN" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"distinct words: {r['distinct_words']}; results stored in {r['timings']['store_secs']:.2f} s")
PY
for attempt in first second; do
  t=$(curl -fsS -o /dev/null -w '%{time_total}' "$BASE/api/v1/runs/$RID/wordcount?limit=100")
  echo "first page (100 words), $attempt request: $(python3 -c "print(f'{$t * 1000:.1f}')") ms"
done
t=$(curl -fsS -o /dev/null -w '%{time_total}' "$BASE/api/v1/runs/$RID/wordcount?q=w05&order=word&limit=100")
echo "prefix page (q=w05, 100 of 100 000 words): $(python3 -c "print(f'{$t * 1000:.1f}')") ms"
t=$(curl -fsS -o /dev/null -w '%{time_total}' "$BASE/api/v1/runs/$RID/wordcount?offset=900000&limit=100")
echo "deep page (offset 900 000): $(python3 -c "print(f'{$t * 1000:.1f}')") ms"
