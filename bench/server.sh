# Sourced by the benchmarks: a release server of their own on a free loopback
# port with a fresh data directory, stopped and removed when the script exits.
#
#   WORK      the scratch directory (data under $WORK/data, log in $WORK/server.log)
#   BASE      the server's URL
#   start_server / stop_server

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tally-bench.XXXXXX")"
# shellcheck source=bench/free-port.sh
. "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
PID=""

cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# Starts $BIN on $WORK/data (with any extra flags given) and waits until it answers.
start_server() {
  TALLY_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$WORK/data" "$@" 2>>"$WORK/server.log" &
  PID=$!
  for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "error: the server did not start; its log:" >&2
  cat "$WORK/server.log" >&2
  exit 1
}

stop_server() {
  kill "$PID"; wait "$PID" 2>/dev/null || true
  PID=""
}
