#!/usr/bin/env bash
# Backup benchmark: `bloggo backup create` (online copy + gzip + fsync, then verification)
# against a plain `cp` of the same store, on a store of at least 200 MB filled through SQL
# with generated posts and page views.
#
#   benches/backup.sh [WORK_DIR]        (RUNS=3 by default; POSTS / VIEWS to resize)
#
# Prints seconds and MB/s (store bytes / wall seconds) for each, medians over RUNS.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/bloggo-backup-bench.XXXXXX)}"
runs="${RUNS:-3}"
posts="${POSTS:-15000}"
views="${VIEWS:-1000000}"

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bloggo="$here/target/release/bloggo"

site="$work/site"
if [ ! -f "$site/bloggo.sqlite" ]; then
    "$bloggo" init "$site" >/dev/null
    echo "filling $site/bloggo.sqlite with $posts posts and $views views..."
    python3 - "$site/bloggo.sqlite" "$posts" "$views" <<'PY'
import random, sqlite3, sys
path, posts, views = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
words = ("the a of to and in is it that for on with as was by this be are or from at not "
         "sqlite backup store page view post rust static site generator writer reader blog "
         "template render build serve index query table column migration verify restore").split()
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode = WAL")
with db:
    db.executemany(
        "INSERT INTO posts (id, title, slug, content, status, published_at) "
        "VALUES (?, ?, ?, ?, 'published', '2024-01-01 10:00:00')",
        ((i, f"Post {i}", f"post-{i}",
          " ".join(rng.choice(words) for _ in range(1000)) + f" {i}")
         for i in range(1, posts + 1)))
    db.execute(
        "INSERT INTO post_views (post_id, ip_address, user_agent, referrer, viewed_at) "
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
        "SELECT 1 + abs(random()) % ?, 'h' || hex(randomblob(8)), "
        "'Mozilla/5.0 (X11; Linux x86_64) Firefox/' || (100 + x % 40), "
        "'https://example.com/' || (x % 500), "
        "datetime('2024-01-01', '+' || (x % 31536000) || ' seconds') FROM n",
        (views, posts))
    db.execute(
        "INSERT INTO post_statistics (post_id, view_count) "
        "SELECT post_id, count(*) FROM post_views GROUP BY post_id")
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
PY
fi
store="$site/bloggo.sqlite"
bytes=$(stat -c %s "$store")
mb=$(python3 -c "print(f'{$bytes/1e6:.1f}')")
echo "store: $mb MB ($store)"
if [ "$bytes" -lt 200000000 ]; then
    echo "warning: the store is smaller than 200 MB; raise POSTS / VIEWS" >&2
fi

# Keep each run's backup from being pruned or reused: a fresh backup folder per run.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
cp_times=(); create_times=(); copy_times=()
for i in $(seq "$runs"); do
    rm -f "$work/copy.sqlite"
    t0=$(now); cp "$store" "$work/copy.sqlite"; t1=$(now)
    cp_times+=("$(echo "$t1 - $t0" | bc -l)")

    rm -rf "$site/backups"
    t0=$(now); out=$("$bloggo" --site "$site" --quiet backup create); t1=$(now)
    create_times+=("$(echo "$t1 - $t0" | bc -l)")
    # "backup ID (daily): A → B in Xs, verified in Ys": X is copy + gzip + fsync.
    copy_times+=("$(echo "$out" | sed -n 's/.* in \([0-9.]*\)s, verified in.*/\1/p')")
    echo "run $i: $out"
done
gz=$(stat -c %s "$site"/backups/daily/*.sqlite.gz)
cp_s=$(printf '%s\n' "${cp_times[@]}" | median)
create_s=$(printf '%s\n' "${create_times[@]}" | median)
copy_s=$(printf '%s\n' "${copy_times[@]}" | median)
rate() { python3 -c "print(f'{$bytes/1e6/$1:.0f}')"; }
printf '\n%-44s %8s %8s\n' "median of $runs runs, store $mb MB" "seconds" "MB/s"
printf '%-44s %8.2f %8s\n' "cp (no fsync)" "$cp_s" "$(rate "$cp_s")"
printf '%-44s %8.2f %8s\n' "backup: online copy + gzip + fsync" "$copy_s" "$(rate "$copy_s")"
printf '%-44s %8.2f %8s\n' "backup create, total (with verification)" "$create_s" "$(rate "$create_s")"
python3 -c "print(f'compressed: {$gz/1e6:.1f} MB ({$gz/$bytes:.0%} of the store)')"
