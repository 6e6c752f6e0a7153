#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a bounded time (default 600 s each, two at a time).
#
#   benches/fuzz.sh                      # every target, 600 s each
#   SECONDS_EACH=60 benches/fuzz.sh markdown
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain, or the stable one with
# RUSTC_BOOTSTRAP=1 (used when `cargo +nightly` is not installed). The corpus grows in
# fuzz/corpus/<target>/ from the committed seeds in fuzz/seeds/<target>/; a crash is written to
# fuzz/artifacts/<target>/ and must become a regression test in tests/it (see tests/it/props.rs
# `fuzz_regressions`) before it is fixed. fuzz/ is its own workspace: the main build never
# compiles it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH=${SECONDS_EACH:-600}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
"${fuzz[@]}" build -O
run() {
    local t=$1
    mkdir -p "corpus/$t"
    "${fuzz[@]}" run -O "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        >"fuzz-$t.log" 2>&1 || echo "$t: CRASH (see fuzz/fuzz-$t.log and fuzz/artifacts/$t/)"
    echo "$t: $(grep -E '^Done|stat::number_of_executed_units' "fuzz-$t.log" | tail -1) corpus $(ls "corpus/$t" | wc -l) files"
}
# Two at a time (the fuzzer uses one core each).
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    run "${targets[i]}" &
    if [ $((i + 1)) -lt ${#targets[@]} ]; then run "${targets[i + 1]}" & fi
    wait
done
