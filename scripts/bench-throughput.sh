#!/usr/bin/env bash
# Throughput and queue memory (issue 10), release build, on 127.0.0.1:
#  1. REQUESTS one-request batches (default 3000) from ORIGINS origin nodes (default 3) to one
#     host node running `true`, each batch submitted over the origin's control socket by
#     cafe-bench (no process per batch): batches/s submitted and requests/s end to end.
#  2. The host stopped, QUEUED one-request batches (default 10000) submitted to one origin:
#     its resident memory before and after, and the envelopes waiting in its outbox.
# With CAFE_BIN=DIR, the cafe and cafe-node binaries in DIR (another build, such as the previous
# commit's) are measured instead of this tree's.
# Usage: [CAFE_BIN=DIR] scripts/bench-throughput.sh [REQUESTS] [ORIGINS] [QUEUED]   (see docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/sshd.sh
source scripts/lib/nodes.sh
requests="${1:-3000}"
origins="${2:-3}"
queued="${3:-10000}"
scripts/install-deps.sh
if [ -n "${CAFE_BIN:-}" ]; then bin="$CAFE_BIN"; else build_cafe release; fi
swift build --package-path Benchmarks -c release --product cafe-bench >&2
bench="$(swift build --package-path Benchmarks -c release --show-bin-path)/cafe-bench"
scratch="$(mktemp -d /tmp/cafe-throughput-XXXXXX)"
pids=()
declare -A port key
cleanup() {
    stop_nodes
    rm -rf "$scratch"
}
trap cleanup EXIT
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

names=(host)
for i in $(seq 1 "$origins"); do names+=("o$i"); done
for node in "${names[@]}"; do init_node "$node"; done
{
    echo "name: host"; echo "listen: 127.0.0.1:${port[host]}"; echo "settings: {max-parallel: 64}"; echo "peers:"
    for node in "${names[@]:1}"; do echo "  $node: {address: 127.0.0.1:${port[$node]}, key: \"${key[$node]}\"}"; done
} > "$scratch/host/config/node.yaml"
echo 'ping: [["true"]]' > "$scratch/host/config/commands.yaml"
for node in "${names[@]:1}"; do echo "$node: {requests: [ping]}"; done > "$scratch/host/config/trust.yaml"
for node in "${names[@]:1}"; do
    printf 'name: %s\nlisten: 127.0.0.1:%s\npeers:\n  host: {address: 127.0.0.1:%s, key: "%s"}\n' \
        "$node" "${port[$node]}" "${port[host]}" "${key[host]}" > "$scratch/$node/config/node.yaml"
    echo 'ping: [[host]]' > "$scratch/$node/config/delivery.yaml"
done
for node in "${names[@]}"; do start_node "$node"; done
wait_for_nodes "${names[@]}"
printf 'name: warm-up\nrequests:\n  - name: ping\n' > "$scratch/ping.yaml"
for node in "${names[@]:1}"; do "$bin/cafe" batch run --home "$scratch/$node" --timeout 30 "$scratch/ping.yaml" >/dev/null 2>&1; done

homes=()
for node in "${names[@]:1}"; do homes+=("$scratch/$node"); done
"$bench" throughput "$requests" "${homes[@]}"

# The host stops; one origin queues requests for it.
kill -TERM "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
origin_pid="${pids[1]}"
before="$(rss "$origin_pid")"
start="$(date +%s.%N)"
"$bench" submit "$queued" "$scratch/o1" >/dev/null
submitted="$(awk "BEGIN {print $(date +%s.%N) - $start}")"
sleep 2
after="$(rss "$origin_pid")"
if [ -f "$scratch/o1/spool/node.log" ]; then
    waiting="$(awk '$2 == "outbox" {live[$3] = 1} $2 == "outbox-removed" {delete live[$3]} END {print length(live)}' "$scratch/o1/spool/node.log")"
else
    waiting="$(find "$scratch/o1/spool/outbox" -name '*.env' | wc -l)"  # a build from before spool/node.log
fi
echo "queue: $queued one-request batches for a stopped host, submitted to one origin in ${submitted} s"
printf '  origin resident memory before               %7.1f MiB\n' "$(awk "BEGIN {print $before / 1024}")"
printf '  origin resident memory with the queue       %7.1f MiB (issue 10 target <= 64 MiB for 10,000)\n' "$(awk "BEGIN {print $after / 1024}")"
printf '  envelopes waiting in its outbox             %7d\n' "$waiting"
