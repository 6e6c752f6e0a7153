#!/usr/bin/env bash
# Slowloris against `bloggo serve` (issue 15): N connections each send one byte of a request
# head every 3 s (reconnecting whenever the server drops them) for SECONDS, while a
# well-behaved client fetches the home page on a fresh connection every 100 ms. Checks that
# every one of its requests succeeded, and prints their latency (p50/p99/max), how often the
# server dropped a slow connection, the most descriptors it held and its memory at the end. Over
# loopback only, bounded in time.
#
#   benches/slowloris.sh [CONNECTIONS=200] [SECONDS=60]
#
# BLOGGO=path/to/bloggo LOADGEN=path/to/loadgen use those binaries (else a release build).
set -euo pipefail
CONNS=${1:-200}
SECS=${2:-60}
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ -z "${BLOGGO:-}" ]; then
    cargo build --release --quiet --bin bloggo --example loadgen
fi
BIN=${BLOGGO:-$TARGET/release/bloggo}
LOADGEN=${LOADGEN:-$TARGET/release/examples/loadgen}
WORK=$(mktemp -d)
SERVER_PID=
SLOW_PID=
cleanup() {
    for p in "$SLOW_PID" "$SERVER_PID"; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill "$p"; fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --quiet init "$WORK/site" >/dev/null
"$BIN" --quiet --site "$WORK/site" build >/dev/null
"$BIN" --quiet --site "$WORK/site" serve --no-build --port 0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.1; done
URL=$(head -n1 "$WORK/serve.out")
echo "serving at $URL (pid $SERVER_PID)"
"$LOADGEN" "$URL" --slowloris "$CONNS" --seconds "$SECS" > "$WORK/slow.out" &
SLOW_PID=$!
: > "$WORK/fds.txt"
( while kill -0 "$SLOW_PID" 2>/dev/null; do ls "/proc/$SERVER_PID/fd" | wc -l >> "$WORK/fds.txt"; sleep 1; done ) &
sleep 1
# The well-behaved client: fresh connections, one request every 100 ms, for the run.
"$LOADGEN" "$URL" --path / --threads 1 --fresh 1 --pause-ms 100 --requests 1000000 \
    --seconds $((SECS - 2)) > "$WORK/good.out"
RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
wait "$SLOW_PID"
SLOW_PID=
sleep 1
FDS=$(sort -n "$WORK/fds.txt" | tail -n1)
cat "$WORK/slow.out"
echo "well-behaved client: $(head -n1 "$WORK/good.out")"
echo "server: at most $FDS descriptors open (sampled each second), VmRSS $RSS kB at the end"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && CODE=0 || CODE=$?
SERVER_PID=
FAILED=$(sed -n 's/.*failed \([0-9]*\)$/\1/p' "$WORK/good.out")
OK=$(sed -n 's/^acknowledged=//p' "$WORK/good.out")
echo "serve exit $CODE"
if [ "$FAILED" = 0 ] && [ "$OK" -gt 0 ] && [ "$CODE" = 0 ]; then echo "slowloris: OK"; else echo "slowloris: FAILED"; exit 1; fi
