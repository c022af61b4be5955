#!/usr/bin/env bash
# Builds the libFuzzer target for envelope decode+verify and runs it.
#   scripts/fuzz.sh [SECONDS]                run for SECONDS (default 60: the smoke run of the test suite)
#   scripts/fuzz.sh --corpus                 regenerate the committed seed corpus in Fuzz/corpus
#   scripts/fuzz.sh --release [SECONDS]      long run, optimized build: run for SECONDS (default 3600)
#   scripts/fuzz.sh --release --runs N       long run, optimized build: run N executions
# Both builds use the fuzzer and address sanitizers; the debug one lives in Fuzz/.build, the
# release one in Fuzz/.build-release. New interesting inputs go to a scratch directory, not into
# the committed corpus; crashes go to fuzz-artifacts/ and fail the run. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
    { echo "usage:"; sed -n '3,6s/^# //p' "$0"; } >&2
    exit 2
}
configuration=debug scratch_path=Fuzz/.build seconds=60
if [ "${1:-}" = "--release" ]; then
    configuration=release scratch_path=Fuzz/.build-release seconds=3600
    shift
fi
case "${1:-}" in
    --corpus) ;;
    --runs) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || usage; limit=(-runs="$2") ;;
    *) [[ "${1:-$seconds}" =~ ^[1-9][0-9]*$ ]] || usage; limit=(-max_total_time="${1:-$seconds}") ;;
esac
flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld)
build=(swift build --package-path Fuzz -c "$configuration" --scratch-path "$scratch_path" "${flags[@]}")
"${build[@]}" --product EnvelopeFuzzer >&2
fuzzer="$("${build[@]}" --show-bin-path)/EnvelopeFuzzer"
export SWIFT_BACKTRACE=enable=no   # a crash must end the run, not hang in the backtracer
if [ "${1:-}" = "--corpus" ]; then
    CAFE_FUZZ_WRITE_CORPUS="$PWD/Fuzz/corpus" "$fuzzer"
    ls -l Fuzz/corpus
    exit 0
fi
scratch="$(mktemp -d /tmp/cafe-fuzz-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p fuzz-artifacts
"$fuzzer" "${limit[@]}" -rss_limit_mb=3072 -timeout=10 -max_len=300000 \
    -artifact_prefix=fuzz-artifacts/ -print_final_stats=1 "$scratch" Fuzz/corpus
