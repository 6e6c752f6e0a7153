#!/usr/bin/env bash
# Soak/load run of `bloggo serve` (issue 9): many keep-alive connections (more than the worker
# pool) sending post views over loopback for a bounded time, while the server's memory (VmRSS
# from /proc) is sampled. Checks: no failed request, every view acknowledged with 200 is in
# post_views and post_statistics after SIGTERM, memory flat (end within 20% + 8 MB of the
# sample taken after warm-up). Also prints recorded views/s and the server's CPU per view, to
# compare runs on a busy machine.
#
#   benches/load.sh [CONNECTIONS=32] [SECONDS=60] [REQUESTS=2000000]
#
# Uses the serve load generator (examples/loadgen.rs) and a release build. To compare builds,
# BLOGGO=path/to/bloggo LOADGEN=path/to/loadgen use those binaries (nothing is built);
# WORKERS=N sets `[serve] workers`.
set -euo pipefail
CONNS=${1:-32}
SECS=${2:-60}
REQUESTS=${3:-2000000}
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ -z "${BLOGGO:-}" ]; then
    cargo build --release --quiet --bin bloggo --example loadgen
fi
BIN=${BLOGGO:-$TARGET/release/bloggo}
LOADGEN=${LOADGEN:-$TARGET/release/examples/loadgen}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --quiet init "$WORK/site" >/dev/null
if [ -n "${WORKERS:-}" ]; then printf '\n[serve]\nworkers = %s\n' "$WORKERS" >> "$WORK/site/bloggo.toml"; fi
mkdir -p "$WORK/posts"
for i in 1 2 3 4; do
    printf -- '---\ntitle: Post %s\ndate: 2026-01-0%s\n---\nSome text for post %s.\n' "$i" "$i" "$i" > "$WORK/posts/post-$i.md"
done
"$BIN" --quiet --site "$WORK/site" import "$WORK/posts" >/dev/null
"$BIN" --quiet --site "$WORK/site" build >/dev/null
"$BIN" --quiet --site "$WORK/site" serve --no-build --port 0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.1; done
URL=$(head -n1 "$WORK/serve.out")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
RSS_START=$(rss)
echo "serving at $URL (pid $SERVER_PID), RSS at start ${RSS_START} kB"

"$LOADGEN" "$URL" --path /posts/post-1/ --threads "$CONNS" --requests "$REQUESTS" \
    --seconds "$SECS" > "$WORK/load.out" &
LOAD_PID=$!
: > "$WORK/rss.txt"
while kill -0 "$LOAD_PID" 2>/dev/null; do rss >> "$WORK/rss.txt"; sleep 2; done
wait "$LOAD_PID"
cat "$WORK/load.out"
RSS_END=$(rss)
grep -E '^(RssAnon|RssFile)' "/proc/$SERVER_PID/status" | tr -s ' \t' ' ' | paste -sd ';' | sed 's/^/memory at the end: /'
ACKED=$(sed -n 's/^acknowledged=//p' "$WORK/load.out")
FAILED=$(sed -n 's/.*failed \([0-9]*\)$/\1/p' "$WORK/load.out")
# CPU the server used (user + system clock ticks).
TICKS=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)
HZ=$(getconf CLK_TCK)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && CODE=0 || CODE=$?
SERVER_PID=
python3 - "$WORK/site/bloggo.sqlite" "$ACKED" "$FAILED" "$CODE" "$RSS_START" "$RSS_END" "$SECS" "$WORK/rss.txt" "$TICKS" "$HZ" <<'PY'
import sqlite3, sys
db, acked, failed, code, rss0, rss1, secs, rssf, ticks, hz = sys.argv[1:]
acked, failed, code, rss0, rss1, secs = int(acked), int(failed), int(code), int(rss0), int(rss1), float(secs)
cpu = int(ticks) / int(hz)
samples = [int(x) for x in open(rssf).read().split()]
warm = samples[min(2, len(samples) - 1)] if samples else rss0
c = sqlite3.connect(db)
rows = c.execute("SELECT count(*) FROM post_views").fetchone()[0]
stats = c.execute("SELECT ifnull(sum(view_count), 0) FROM post_statistics").fetchone()[0]
print(f"views: acknowledged {acked}, post_views {rows}, post_statistics {stats}; failed requests {failed}; serve exit {code}")
if rows and cpu:
    print(f"server CPU: {cpu:.1f} s, {1e6 * cpu / rows:.0f} µs per view ({rows / cpu:.0f} views per CPU-second)")
print(f"memory (VmRSS): start {rss0} kB, after warm-up {warm} kB, max {max(samples or [rss1])} kB, end {rss1} kB")
ok = failed == 0 and rows == acked == stats and code == 0 and rss1 <= warm * 1.2 + 8192
print("load: OK" if ok else "load: FAILED")
sys.exit(0 if ok else 1)
PY
