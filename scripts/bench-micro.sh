#!/usr/bin/env bash
# Micro benchmarks on package-benchmark (ordo-one), release build: envelope, runner, journal
# append+sync, each with p0…p99 of wall clock, mallocs and read/write syscalls. See
# docs/benchmarks.md, "Micro benchmarks". Suite: Benchmarks/Benchmarks/CafeMicro/.
#   scripts/bench-micro.sh [run]    run them and print the harness's table
#   scripts/bench-micro.sh check    run them; exit 1 when a metric's p90 is worse than the checked-in
#                                   one (Benchmarks/Thresholds/) by more than its tolerance
#   scripts/bench-micro.sh update   run them and write their p90s to Benchmarks/Thresholds/
# Further arguments go to the harness, e.g. `scripts/bench-micro.sh run --filter 'envelope.*'`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
thresholds="$PWD/Benchmarks/Thresholds"
harness=(swift package --package-path Benchmarks)
what="${1:-run}"
shift || true
case "$what" in
    run) "${harness[@]}" benchmark run --no-progress "$@" ;;
    update) "${harness[@]}" --allow-writing-to-package-directory benchmark thresholds update --path "$thresholds" --no-progress "$@" ;;
    check)
        # The harness fails both when a metric is worse and when it is better than its tolerance
        # allows; only worse is a regression.
        log="$(mktemp)"
        trap 'rm -f "$log"' EXIT
        status=0
        "${harness[@]}" benchmark thresholds check --path "$thresholds" --no-progress "$@" 2>&1 | tee "$log" || status=$?
        if grep -q "WORSE than the defined thresholds" "$log"; then
            echo "bench-micro: regression beyond the tolerances (see above)" >&2
            exit 1
        elif grep -q "BETTER than the defined thresholds" "$log"; then
            echo "bench-micro: better than the thresholds; if it lasts, scripts/bench-micro.sh update" >&2
        elif [ "$status" -ne 0 ]; then
            exit "$status"
        fi
        ;;
    *) echo "usage: scripts/bench-micro.sh [run|check|update] [HARNESS OPTIONS]" >&2; exit 2 ;;
esac
