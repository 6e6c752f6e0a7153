#!/usr/bin/env bash
# Load benchmark of `bloggo serve`: views per second and latency over loopback.
#
#   benches/serve_load.sh [REQUESTS=200000] [THREADS=4] [SECONDS=60]
#
# Builds bloggo and the load generator (release), makes a temp site with one published post
# and its page, serves it with --no-build on a free loopback port, sends REQUESTS post views
# from THREADS keep-alive connections (bounded by SECONDS), stops the server with SIGTERM and
# checks that every view acknowledged with 200 is in post_views and post_statistics.
set -euo pipefail

REQUESTS=${1:-200000}
THREADS=${2:-4}
SECONDS_MAX=${3:-60}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin bloggo --example loadgen
BIN=$PWD/target/release/bloggo
LOADGEN=$PWD/target/release/examples/loadgen

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --quiet init "$WORK/site" >/dev/null
python3 - "$WORK/site/bloggo.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO posts (title, slug, status, content, published_at, author_id) "
          "VALUES ('Hello', 'hello', 'published', 'text', '2026-01-01 00:00:00', 1)")
c.commit()
PY
mkdir -p "$WORK/site/public/posts/hello"
head -c 6000 /dev/zero | tr '\0' 'x' | sed 's/^/<html><body><p>/; s/$/<\/p><\/body><\/html>/' \
    > "$WORK/site/public/posts/hello/index.html"

"$BIN" --quiet --site "$WORK/site" serve --no-build --port 0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.1; done
URL=$(head -n1 "$WORK/serve.out")
echo "serving at $URL (pid $SERVER_PID)"

START=$(date +%s.%N)
"$LOADGEN" "$URL" --path /posts/hello/ --threads "$THREADS" --requests "$REQUESTS" \
    --seconds "$SECONDS_MAX" | tee "$WORK/load.out"
ACKED=$(sed -n 's/^acknowledged=//p' "$WORK/load.out")
# CPU the server used (user + system clock ticks), to compare runs on a busy machine.
TICKS=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)
HZ=$(getconf CLK_TCK)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && CODE=0 || CODE=$?
SERVER_PID=
END=$(date +%s.%N)

python3 - "$WORK/site/bloggo.sqlite" "$ACKED" "$START" "$END" "$CODE" "$TICKS" "$HZ" <<'PY'
import sqlite3, sys
db, acked, start, end, code = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
cpu = int(sys.argv[6]) / int(sys.argv[7])
c = sqlite3.connect(db)
rows = c.execute("SELECT count(*) FROM post_views").fetchone()[0]
stats = c.execute("SELECT ifnull(sum(view_count), 0) FROM post_statistics").fetchone()[0]
lost = acked - rows
print(f"serve exit code {code}; acknowledged {acked}, post_views rows {rows}, post_statistics {stats}, lost {lost}")
print(f"recorded views/s including shutdown flush: {rows / (end - start):.0f}")
if rows and cpu:
    print(f"server CPU: {cpu:.2f} s, {1e6 * cpu / rows:.0f} µs per view ({rows / cpu:.0f} views per CPU-second)")
sys.exit(0 if lost == 0 and stats == rows and code == 0 else 1)
PY
