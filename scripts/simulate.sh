#!/usr/bin/env bash
# Runs the deterministic simulation (cafe-sim, release build) for a number of hours.
#   scripts/simulate.sh HOURS [FIRST-SEED]     fresh seeds from FIRST-SEED (default: the time now)
#   scripts/simulate.sh --seed N               replay one seed with its trace
# Every seed that breaks an invariant is printed with the command that replays it; the exit
# status is 1 if any did. See docs/simulation.md.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
    { echo "usage:"; sed -n '3,4s/^# //p' "$0"; } >&2
    exit 2
}
swift build -c release --product cafe-sim >&2
sim="$(swift build -c release --show-bin-path)/cafe-sim"
if [ "${1:-}" = "--seed" ]; then
    [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
    exec "$sim" --seed "$2" --trace
fi
[[ "${1:-}" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage
first="${2:-$(date +%s)}"
[[ "$first" =~ ^[0-9]+$ ]] || usage
minutes="$(awk -v h="$1" 'BEGIN { print h * 60 }')"
exec "$sim" --seed "$first" --minutes "$minutes"
