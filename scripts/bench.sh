#!/usr/bin/env bash
# Benchmarks (release build); each prints its figures next to a baseline measured in the same run.
#   scripts/bench.sh runner [COUNT] | envelope [COUNT] | all      see docs/benchmarks.md
#   scripts/bench.sh scaling [GATEWAYS] [LEAVES]                 simulated 10,000-host fan-out, docs/scaling.md
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
what="${1:-all}"
swift build --package-path Benchmarks -c release --product cafe-bench >&2
bench="$(swift build --package-path Benchmarks -c release --show-bin-path)/cafe-bench"
case "$what" in
    runner|envelope) "$bench" "$what" ${2:+"$2"} ;;
    scaling) "$bench" scaling ${2:+"$2"} ${3:+"$3"} ;;
    all) "$bench" runner; "$bench" envelope; "$bench" scaling ;;
    *) echo "usage: scripts/bench.sh [runner|envelope|scaling|all] [COUNT | GATEWAYS LEAVES]" >&2; exit 2 ;;
esac
