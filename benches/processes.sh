#!/usr/bin/env bash
# Several processes on one store (issue 15), longer than the test in tests/it/processes.rs:
# `bloggo serve` in watch mode takes about 40 views a second (curl, a browser's user agent)
# while other processes loop `import`, `post publish`/`unpublish`, `post new`, `backup create`,
# `build` and read-only sqlite3 queries. Then:
#   - SIGTERM: every view answered 200 must be in post_views, integrity_check ok, `db check`
#     healthy;
#   - the same again ending in kill -9: the views lost must all have been answered within the
#     last flush interval (+ commit time) before the kill.
#
#   benches/processes.sh [SECONDS=60]
#
# Needs curl and the sqlite3 shell (.ci/setup installs sqlite3); uses a release build.
set -euo pipefail
SECS=${1:-60}
cd "$(dirname "$0")/.."
bash .ci/setup
command -v curl >/dev/null || { echo "needs curl (apt-get install curl)"; exit 1; }
cargo build --release --quiet --bin bloggo
BIN=$PWD/target/release/bloggo
WORK=$(mktemp -d)
SERVER_PID=
VIEWER_PID=
cleanup() {
    for p in $VIEWER_PID $SERVER_PID; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
UA="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
now_ms() { date +%s%3N; }

setup_site() {
    rm -rf "$WORK/site" "$WORK/in"
    "$BIN" --quiet init "$WORK/site" >/dev/null
    for i in 1 2 3; do
        "$BIN" --quiet --site "$WORK/site" post new "Post $i" --no-edit >/dev/null
        "$BIN" --quiet --site "$WORK/site" post publish "post-$i" >/dev/null
    done
    "$BIN" --quiet --site "$WORK/site" build >/dev/null
}

start_serve() {
    "$BIN" --site "$WORK/site" serve --port 0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.1; done
    URL=$(head -n1 "$WORK/serve.out")
}

# Views of post-1 at ~40/s; each 200 appends its answer time (ms) to $WORK/answered.
start_viewer() {
    : > "$WORK/answered"; : > "$WORK/failed"
    (
        while :; do
            code=$(curl -s -o /dev/null -w '%{http_code}' -A "$UA" "${URL}posts/post-1/" || echo 000)
            if [ "$code" = 200 ]; then now_ms >> "$WORK/answered"; else echo "$code" >> "$WORK/failed"; fi
            sleep 0.025
        done
    ) &
    VIEWER_PID=$!
}

# Other processes, in a loop, until $1 seconds have passed; prints the rounds done.
churn() {
    local until=$(( $(date +%s) + $1 )) round=0
    while [ "$(date +%s)" -lt "$until" ]; do
        mkdir -p "$WORK/in/$round"
        printf -- '---\ntitle: Churn %s\ndate: 2026-02-01 10:00:00\n---\nBody %s.\n' "$round" "$round" > "$WORK/in/$round/2026-02-01-churn-$round.md"
        "$BIN" --quiet --site "$WORK/site" import "$WORK/in/$round" >/dev/null
        "$BIN" --quiet --site "$WORK/site" post publish post-3 >/dev/null 2>&1 || true
        "$BIN" --quiet --site "$WORK/site" post unpublish post-3 >/dev/null 2>&1 || true
        "$BIN" --quiet --site "$WORK/site" post new "New $round" --no-edit >/dev/null
        "$BIN" --quiet --site "$WORK/site" backup create >/dev/null
        "$BIN" --quiet --site "$WORK/site" build >/dev/null
        sqlite3 "$WORK/site/bloggo.sqlite" "SELECT count(*) FROM posts" >/dev/null
        round=$((round + 1))
    done
    echo "$round"
}

check_whole() {
    local ic
    ic=$(sqlite3 "$WORK/site/bloggo.sqlite" "PRAGMA integrity_check")
    [ "$ic" = ok ] || { echo "FAIL: integrity_check: $ic"; exit 1; }
    "$BIN" --site "$WORK/site" db check > "$WORK/db-check.out" || { cat "$WORK/db-check.out"; echo "FAIL: db check"; exit 1; }
}

echo "== run 1: ${SECS}s of churn, then SIGTERM"
setup_site; start_serve; start_viewer
rounds=$(churn "$SECS")
kill "$VIEWER_PID"; wait "$VIEWER_PID" 2>/dev/null || true; VIEWER_PID=
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
answered=$(wc -l < "$WORK/answered"); failed=$(wc -l < "$WORK/failed")
stored=$(sqlite3 "$WORK/site/bloggo.sqlite" "SELECT count(*) FROM post_views")
echo "rounds of other commands: $rounds; views answered 200: $answered; other answers: $failed; stored: $stored"
echo "serve said: $(tail -n1 "$WORK/serve.out")"
[ "$stored" -eq "$answered" ] || { echo "FAIL: $((answered - stored)) answered views are not in post_views"; exit 1; }
[ "$failed" -eq 0 ] || { echo "FAIL: $failed views were not answered 200"; exit 1; }
check_whole
echo "ok: every answered view stored, integrity_check ok, db check healthy"

echo "== run 2: $((SECS / 2))s of churn, then kill -9"
setup_site; start_serve; start_viewer
rounds=$(churn $((SECS / 2)))
killed=$(now_ms); kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
kill "$VIEWER_PID"; wait "$VIEWER_PID" 2>/dev/null || true; VIEWER_PID=
answered=$(wc -l < "$WORK/answered")
stored=$(sqlite3 "$WORK/site/bloggo.sqlite" "SELECT count(*) FROM post_views")
lost=$((answered - stored))
# The oldest answer that can be among the lost: the lost ones are the newest answers.
if [ "$lost" -gt 0 ]; then
    oldest_lost=$(tail -n "$lost" "$WORK/answered" | head -n1)
    age=$((killed - oldest_lost))
else
    age=0
fi
echo "rounds: $rounds; views answered: $answered; stored: $stored; lost by the kill: $lost; oldest lost answered ${age} ms before the kill"
[ "$age" -le 1000 ] || { echo "FAIL: a view answered ${age} ms before the kill was lost (bound: flush interval 250 ms + commit)"; exit 1; }
check_whole
echo "ok: the kill lost only views of the last flush interval; integrity_check ok, db check healthy"
