#!/usr/bin/env bash
# Fan-out through relays (hierarchical delivery): an origin, G gateways (default 5), L leaves
# under each (default 10), all cafe-node processes on 127.0.0.1. The origin's delivery map names
# only the gateways; each gateway's names its leaves. Prints the wall time from `cafe batch run`
# to the verified executed batch file (every leaf's signature checked), and how many TCP
# connections the origin held. Release build. Usage: scripts/bench-relay.sh [GATEWAYS] [LEAVES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/sshd.sh
source scripts/lib/nodes.sh
gateways="${1:-5}"
leaves="${2:-10}"
runs="${3:-5}"
scripts/install-deps.sh
build_cafe release
scratch="$(mktemp -d /tmp/cafe-relay-XXXXXX)"
pids=()
cleanup() {
    stop_nodes
    rm -rf "$scratch"
}
trap cleanup EXIT
now() { date +%s.%N; }

declare -A port key
nodes=(origin)
for g in $(seq 1 "$gateways"); do
    nodes+=("g$g")
    for l in $(seq 1 "$leaves"); do nodes+=("g$g-l$l"); done
done
for node in "${nodes[@]}"; do init_node "$node"; done
peer() { echo "  $1: {$2, key: \"${key[$1]}\"}"; }
{
    echo "name: origin"; echo "listen: 127.0.0.1:${port[origin]}"; echo "peers:"
    for g in $(seq 1 "$gateways"); do
        peer "g$g" "address: 127.0.0.1:${port[g$g]}"
        # The origin knows every leaf's key (to verify its result), not its address.
        for l in $(seq 1 "$leaves"); do peer "g$g-l$l" "via: g$g"; done
    done
} > "$scratch/origin/config/node.yaml"
echo "bench: [[$(for g in $(seq 1 "$gateways"); do printf 'g%s,' "$g"; done | sed 's/,$//')]]" > "$scratch/origin/config/delivery.yaml"
for g in $(seq 1 "$gateways"); do
    {
        echo "name: g$g"; echo "listen: 127.0.0.1:${port[g$g]}"; echo "peers:"
        peer origin "address: 127.0.0.1:${port[origin]}"
        for l in $(seq 1 "$leaves"); do peer "g$g-l$l" "address: 127.0.0.1:${port[g$g-l$l]}"; done
    } > "$scratch/g$g/config/node.yaml"
    echo "bench: [[$(for l in $(seq 1 "$leaves"); do printf 'g%s-l%s,' "$g" "$l"; done | sed 's/,$//')]]" > "$scratch/g$g/config/delivery.yaml"
    echo 'origin: {requests: [], relay: true}' > "$scratch/g$g/config/trust.yaml"
    for l in $(seq 1 "$leaves"); do
        leaf="g$g-l$l"
        {
            echo "name: $leaf"; echo "listen: 127.0.0.1:${port[$leaf]}"; echo "peers:"
            peer "g$g" "address: 127.0.0.1:${port[g$g]}"
            peer origin "via: g$g"
        } > "$scratch/$leaf/config/node.yaml"
        echo 'bench: [["true"]]' > "$scratch/$leaf/config/commands.yaml"
        echo 'origin: {requests: [bench]}' > "$scratch/$leaf/config/trust.yaml"
    done
done
for node in "${nodes[@]}"; do start_node "$node"; done
wait_for_nodes "${nodes[@]}"
sleep 1
printf 'name: relayed fan-out\nrequests:\n  - name: bench\n' > "$scratch/batch.yaml"
times=()
for run in $(seq 1 "$runs"); do
    start=$(now)
    file="$("$bin/cafe" batch run --home "$scratch/origin" --timeout 60 "$scratch/batch.yaml" 2>/dev/null | tail -n 1)"
    "$bin/cafe" verify --home "$scratch/origin" "$file" > "$scratch/verify.out"
    times+=("$(awk "BEGIN {print $(now) - $start}")")
done
checks=$(grep -c '^PASS' "$scratch/verify.out")
connections=$(ss -tnp state established 2>/dev/null | grep -c "pid=${pids[0]}," || true)
cold="${times[0]}"
warm="$(printf '%s\n' "${times[@]:1}" | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}')"
total=$((gateways * leaves))
echo "fan-out through relays: origin -> $gateways gateways -> $leaves leaves each ($total leaves; $runs runs; release build)"
printf '  cafe batch run + cafe verify, first run      %7.3f s\n' "$cold"
printf '  cafe batch run + cafe verify, median warm    %7.3f s\n' "$warm"
echo "  signature checks passed by cafe verify       $checks (origin file + gateways + leaves)"
echo "  TCP connections the origin held              $connections (one per gateway; none to a leaf)"
