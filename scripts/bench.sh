#!/usr/bin/env bash
# Benchmarks (release build); each prints its figures next to a baseline measured in the same run.
#   scripts/bench.sh runner | envelope | all      see docs/benchmarks.md
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
what="${1:-all}"
swift build --package-path Benchmarks -c release --product cafe-bench >&2
bench="$(swift build --package-path Benchmarks -c release --show-bin-path)/cafe-bench"
case "$what" in
    runner|envelope) "$bench" "$what" ${2:+"$2"} ;;
    all) "$bench" runner; "$bench" envelope ;;
    *) echo "usage: scripts/bench.sh [runner|envelope|all] [COUNT]" >&2; exit 2 ;;
esac
