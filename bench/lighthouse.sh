#!/usr/bin/env bash
# Lighthouse (mobile defaults: simulated slow 4G and a 4× slower CPU) on the
# Dashboard of the release binary, with a table and three workloads stored.
# Prints the four category scores, the page's timings and its largest paint,
# once with simulated and once with applied throttling.
#
#   bench/lighthouse.sh
#
# Needs target/release/tally (./tally.sh run) and Debian's chromium; installs
# Lighthouse 12.8.2 from npm under ~/.cache/tally/tools once (13 needs Node 22).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/tally"
[ -x "$BIN" ] || { echo "error: $BIN is missing: build it with ./tally.sh run" >&2; exit 1; }
TOOLS="${TALLY_CACHE_DIR:-$HOME/.cache/tally}/tools/lighthouse-12.8.2"
if [ ! -x "$TOOLS/node_modules/.bin/lighthouse" ]; then
  echo "==> Installing Lighthouse 12.8.2 (npm)"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error lighthouse@12.8.2
fi

# shellcheck source=bench/server.sh
. "$ROOT/bench/server.sh"
start_server
printf 'the cat sat on the mat\nthe hat\n' |
  curl -fsS -X POST --data-binary @- "$BASE/api/v1/projects/demo/datasets/d/tables/t?format=text" >/dev/null
for i in 1 2 3; do
  curl -fsS -H 'content-type: application/json' \
    -d "{\"workload_type\":\"wordcount\",\"name\":\"Demo $i\",\"src_project\":\"demo\",\"src_dataset\":\"d\",\"src_table\":\"t\",\"src_column_name\":\"line\"}" \
    "$BASE/api/v1/workloads" >/dev/null
done
sleep 2

# Twice: Lighthouse's default simulated throttling (it estimates the metrics
# from an unthrottled load), then with the throttling applied for real
# (`devtools`), which measures them.
for method in simulate devtools; do
  CHROME_PATH="${TALLY_CHROMIUM:-/usr/bin/chromium}" "$TOOLS/node_modules/.bin/lighthouse" "$BASE/" --quiet \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --throttling-method="$method" \
    --only-categories=performance,accessibility,best-practices,seo \
    --output=json --output-path="$WORK/report.json"
  python3 - "$WORK/report.json" "$method" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"== throttling: {sys.argv[2]}")
print("scores: " + ", ".join(f"{c['title']} {round(c['score'] * 100)}" for c in r["categories"].values()))
for a in ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index", "interactive"]:
    print(f"{r['audits'][a]['title']}: {r['audits'][a]['displayValue']}")
details = r["audits"].get("largest-contentful-paint-element", {}).get("details", {}).get("items", [])
for table in details:
    for item in table.get("items", []):
        if "node" in item:
            print(f"largest paint: {item['node'].get('selector')}")
        elif "phase" in item:
            print(f"  {item['phase']}: {item['timing']:.0f} ms")
PY
done
