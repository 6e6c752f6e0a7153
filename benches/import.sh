#!/usr/bin/env bash
# Benchmark: `bloggo import` of a generated blog of N posts (default 10,000), then a re-import
# of the unchanged folder (the hash-only path `build`/`serve` take through content sync).
# Target: the first import under 2 s on a 2-core machine.
#
#   benches/import.sh [N] [RUNS]
#
# Needs python3 and /work/shared/bench/gen_corpus.py (or GEN_CORPUS=path/to/gen_corpus.py).
set -euo pipefail

N=${1:-10000}
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
GEN=${GEN_CORPUS:-$HERE/../shared/bench/gen_corpus.py}
[ -f "$GEN" ] || GEN=/work/shared/bench/gen_corpus.py
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --release --quiet --manifest-path "$HERE/Cargo.toml"
BIN=$HERE/target/release/bloggo

python3 "$GEN" "$N" "$WORK/corpus" --layout plain >/dev/null
echo "corpus: $N posts, $(du -sh "$WORK/corpus" | cut -f1), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

now() { date +%s.%N; }
for run in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/site"
    "$BIN" --quiet init "$WORK/site" >/dev/null
    t0=$(now)
    # CPU seconds (user + sys) too: on a shared, busy machine they are steadier than wall time.
    cpu=$( { /usr/bin/time -f '%U %S' "$BIN" --quiet --site "$WORK/site" import "$WORK/corpus" >/dev/null; } 2>&1 | tail -1)
    t1=$(now)
    "$BIN" --quiet --site "$WORK/site" import "$WORK/corpus" >/dev/null
    t2=$(now)
    printf 'run %d: import %.2f s wall (%s s user+sys), re-import (unchanged) %.2f s\n' "$run" \
        "$(echo "$t1 - $t0" | bc)" "$(echo "$cpu" | awk '{print $1 + $2}')" "$(echo "$t2 - $t1" | bc)"
done
posts=$(sqlite3 "$WORK/site/bloggo.sqlite" 'SELECT count(*) FROM posts' 2>/dev/null || echo '?')
echo "posts in the store: $posts"
