#!/usr/bin/env bash
# How long the README's two commands take on a fresh machine, step by step.
#
#   bench/fresh-build.sh [--keep | --warm]
#
# Clones this checkout's HEAD into a scratch directory and runs, there,
# `./tally.sh run` until its first page answers, then `./tally.sh test`, with
# an empty build cache (a throw-away TALLY_CACHE_DIR) and an empty cargo home
# (a throw-away CARGO_HOME holding only rustup's proxies: no registry, no
# installed tools), an empty npm and pip cache. Nobody's own cache is touched.
# What it cannot take away: the rustup toolchains and the Debian packages the
# machine already has (Chromium, Java), which a fresh machine of this kind has
# too or installs in seconds.
#
# Prints one row a step (the `==>` lines of tally.sh, from TALLY_STEP_LOG), the
# time to the first page, and the totals. Takes as long as a fresh machine does
# (about an hour on two cores): run it on a machine with nothing else to do.
# --keep leaves the scratch directory (build cache included) for a look.
# --warm is for a machine whose build cache is empty anyway (a new one): the
# builds go to the real cache (~/.cache/tally, or TALLY_CACHE_DIR), which they
# leave warm, with the real cargo home (cargo fingerprints each dependency by
# the path of its sources in the cargo home, so a build from a throw-away one
# is cold again for the real one): the measurement costs no extra build. It
# refuses a build cache that is not empty, or a cargo home that already has a
# registry or installed tools.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEEP=""
WARM=""
case "${1:-}" in
  --keep) KEEP=1 ;;
  --warm) WARM=1 ;;
  "") ;;
  *) sed -n '2,30p' "$0" >&2; exit 2 ;;
esac
REAL_CACHE="${TALLY_CACHE_DIR:-$HOME/.cache/tally}"
CARGO_REAL="${CARGO_HOME:-$HOME/.cargo}"
if [ -n "$WARM" ] && [ -n "$(ls -A "$REAL_CACHE" 2>/dev/null)" ]; then
  echo "error: --warm needs an empty build cache, and $REAL_CACHE is not empty" >&2
  exit 2
fi
if [ -n "$WARM" ] && { [ -e "$CARGO_REAL/registry" ] || [ -e "$CARGO_REAL/bin/wasm-bindgen" ] || [ -e "$CARGO_REAL/bin/cargo-fuzz" ]; }; then
  echo "error: --warm needs a fresh cargo home, and $CARGO_REAL has a registry or installed tools" >&2
  exit 2
fi

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/tally-fresh.XXXXXX")"
SERVER=""
LOGS="${TMPDIR:-/tmp}/tally-fresh-logs"
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  # The logs and step times outlive the scratch directory, for a look after
  # a failure.
  mkdir -p "$LOGS" && cp "$SCRATCH"/*.log "$SCRATCH"/*.steps "$LOGS"/ 2>/dev/null
  if [ -n "$KEEP" ]; then echo "kept: $SCRATCH"; else rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT

# A cargo home with only rustup's proxies (cargo, rustc, ... are hard links to
# rustup): what a fresh machine with Rust from rustup has.
mkdir -p "$SCRATCH/cargo/bin"
RUSTUP_BIN="$(command -v rustup)"
for tool in "$CARGO_REAL"/bin/*; do
  if [ "$tool" -ef "$RUSTUP_BIN" ]; then cp -P "$tool" "$SCRATCH/cargo/bin/" 2>/dev/null || ln -s "$RUSTUP_BIN" "$SCRATCH/cargo/bin/$(basename "$tool")"; fi
done
[ -f "$CARGO_REAL/config.toml" ] && cp "$CARGO_REAL/config.toml" "$SCRATCH/cargo/"

git clone --quiet "$ROOT" "$SCRATCH/tally"
cd "$SCRATCH/tally"
CACHE="$SCRATCH/cache"
[ -n "$WARM" ] && CACHE="$REAL_CACHE"
CARGO_USED="$SCRATCH/cargo"
[ -n "$WARM" ] && CARGO_USED="$CARGO_REAL"
export CARGO_HOME="$CARGO_USED" TALLY_CACHE_DIR="$CACHE"
export npm_config_cache="$SCRATCH/npm" PIP_CACHE_DIR="$SCRATCH/pip"
export PATH="$CARGO_HOME/bin:$PATH"

# shellcheck source=bench/free-port.sh
. "$ROOT/bench/free-port.sh"
PORT="$(free_port)"

# `run` serves until stopped: the clock stops when its first page answers.
echo "==> ./tally.sh run (log: $SCRATCH/run.log)"
run_start=$(date +%s)
TALLY_STEP_LOG="$SCRATCH/run.steps" ./tally.sh run --addr "127.0.0.1:$PORT" --data-dir "$SCRATCH/data" \
  >"$SCRATCH/run.log" 2>&1 </dev/null &
SERVER=$!
until curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1; do
  if ! kill -0 "$SERVER" 2>/dev/null; then
    tail -n 30 "$SCRATCH/run.log" >&2
    echo "error: ./tally.sh run stopped before its first page answered" >&2
    exit 1
  fi
  sleep 2
done
run_end=$(date +%s)
printf '%s\t%s\n' "$run_end" "(first page answered)" >>"$SCRATCH/run.steps"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=""

echo "==> ./tally.sh test (log: $SCRATCH/test.log)"
test_start=$(date +%s)
CI=true TALLY_STEP_LOG="$SCRATCH/test.steps" ./tally.sh test >"$SCRATCH/test.log" 2>&1 </dev/null || {
  tail -n 30 "$SCRATCH/test.log" >&2
  echo "error: ./tally.sh test failed" >&2
  exit 1
}
test_end=$(date +%s)

# One row a step: from its start to the next step's (or the command's end).
table() {
  local command="$1" start="$2" steps="$3" end="$4"
  printf '| `%s`: start to first step | %s |\n' "$command" "$(mmss $(( $(head -n1 "$steps" | cut -f1) - start )))"
  awk -F '\t' -v end="$end" '
    { t[NR] = $1; name[NR] = $2 }
    END { for (i = 1; i <= NR; i++) { stop = (i < NR) ? t[i + 1] : end; if (name[i] !~ /^\(/) printf "%s\t%d\n", name[i], stop - t[i] } }
  ' "$steps" | while IFS=$'\t' read -r name secs; do
    printf '| %s | %s |\n' "$name" "$(mmss "$secs")"
  done
}
mmss() { printf '%d m %02d s' $(($1 / 60)) $(($1 % 60)); }

echo
echo "| step | time |"
echo "| --- | --- |"
table "./tally.sh run" "$run_start" "$SCRATCH/run.steps" "$run_end"
printf '| **`./tally.sh run` to the first page** | **%s** |\n' "$(mmss $((run_end - run_start)))"
table "./tally.sh test" "$test_start" "$SCRATCH/test.steps" "$test_end"
printf '| **`./tally.sh test` right after it** | **%s** |\n' "$(mmss $((test_end - test_start)))"
printf '| **both** | **%s** |\n' "$(mmss $((test_end - run_start)))"
