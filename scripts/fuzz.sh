#!/usr/bin/env bash
# Builds the libFuzzer target for envelope decode+verify and runs it.
#   scripts/fuzz.sh [SECONDS]     run for SECONDS (default 60: the smoke run of the test suite)
#   scripts/fuzz.sh --corpus      regenerate the committed seed corpus in Fuzz/corpus
# New interesting inputs go to a scratch directory, not into the committed corpus; crashes go to
# fuzz-artifacts/ and fail the run. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld)
swift build --package-path Fuzz -c debug "${flags[@]}" --product EnvelopeFuzzer >&2
fuzzer="$(swift build --package-path Fuzz -c debug "${flags[@]}" --show-bin-path)/EnvelopeFuzzer"
export SWIFT_BACKTRACE=enable=no   # a crash must end the run, not hang in the backtracer
if [ "${1:-}" = "--corpus" ]; then
    CAFE_FUZZ_WRITE_CORPUS="$PWD/Fuzz/corpus" "$fuzzer"
    ls -l Fuzz/corpus
    exit 0
fi
seconds="${1:-60}"
scratch="$(mktemp -d /tmp/cafe-fuzz-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p fuzz-artifacts
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=3072 -timeout=10 -max_len=300000 \
    -artifact_prefix=fuzz-artifacts/ -print_final_stats=1 "$scratch" Fuzz/corpus
