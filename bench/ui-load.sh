#!/usr/bin/env bash
# The UI's weight and speed on the release binary: the WASM bundle's size (raw
# and gzip), and the Workloads page's time to first byte and to hydration in
# Chromium with 100 and then 10 000 workloads stored (medians of 6 loads each,
# after a warm-up), with their ratio.
#
#   bench/ui-load.sh
#
# Needs target/release/tally and the release site (./tally.sh run builds both),
# end2end/node_modules (./tally.sh test installs it) and Debian's chromium.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/tally"
WASM="$ROOT/target/site-release/pkg/tally.wasm"
[ -x "$BIN" ] || { echo "error: $BIN is missing: build it with ./tally.sh run" >&2; exit 1; }
[ -d "$ROOT/end2end/node_modules/playwright-core" ] || { echo "error: run ./tally.sh test once to install end2end/node_modules" >&2; exit 1; }

if [ -f "$WASM" ]; then
  raw=$(stat -c %s "$WASM"); gz=$(gzip -9 -c "$WASM" | wc -c)
  echo "WASM bundle: $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip (target: under 1 MiB gzip)"
fi

# shellcheck source=bench/server.sh
. "$ROOT/bench/server.sh"

start_server
printf 'the cat sat on the mat\nthe hat\n' |
  curl -fsS -X POST --data-binary @- "$BASE/api/v1/projects/bench/datasets/ui/tables/words?format=text" >/dev/null

node "$ROOT/bench/ui-load.cjs" "$BASE"
