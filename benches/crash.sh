#!/usr/bin/env bash
# The full crash matrix (issue 9): every command of tests/it/crash.rs killed with SIGKILL at
# RUNS seeded random points (default 50 per command), invariants checked after each kill.
#
#   benches/crash.sh                 # 50 kills per command, the suite's default seed
#   RUNS=200 SEED=42 benches/crash.sh
#   FILTER=crash::build benches/crash.sh   # one command
#
# Prints one `crash-result` line per command (runs, how many kills left the old state, the new
# state, or came after the process finished; temp files left behind) and, for serve, the views
# a kill lost. The normal test suite runs the same tests with 5 kills each.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-50}
FILTER=${FILTER:-crash::}
export BLOGGO_CRASH_RUNS=$RUNS
if [ -n "${SEED:-}" ]; then export BLOGGO_CRASH_SEED=$SEED; fi
start=$(date +%s)
log=$(mktemp)
# Two at a time: the kill delays scale with the time of a complete run measured just before,
# so a loaded machine shifts the delays rather than the coverage.
cargo test --locked --test it "$FILTER" -- --nocapture --test-threads=2 2>&1 | tee "$log" \
    | grep -E '^(crash-result|serve-views|test |test result)' || true
echo "--- summary ($RUNS kills per command, $(( $(date +%s) - start )) s) ---"
grep -E '^(crash-result|serve-views)' "$log" || true
grep -q '^test result: ok' "$log"
