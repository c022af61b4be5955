#!/usr/bin/env bash
# Soak: hundreds of batches through a local mesh while random nodes are killed with SIGKILL
# and restarted; then every node is started, everything is allowed to finish, and the check:
# every batch the origin accepted ended in exactly one final file (done/ or error/), and no
# request ran twice on any host. Prints the counts; exit 1 on any violation.
# Usage: scripts/soak.sh [BATCHES] [HOSTS]      (not part of the test suite; see docs/testing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/sshd.sh
source scripts/lib/nodes.sh
batches="${1:-300}"
hostcount="${2:-3}"
scripts/install-deps.sh
build_cafe debug
scratch="$(mktemp -d /tmp/cafe-soak-XXXXXX)"
declare -A pid
keep=0
cleanup() {
    for node in "${!pid[@]}"; do kill -KILL "${pid[$node]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$keep" -eq 1 ]; then echo "kept for inspection: $scratch" >&2; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

hosts=()
for i in $(seq 1 "$hostcount"); do hosts+=("h$i"); done
nodes=(origin "${hosts[@]}")
declare -A port key
for node in "${nodes[@]}"; do init_node "$node"; done
{
    echo "name: origin"; echo "listen: 127.0.0.1:${port[origin]}"; echo "peers:"
    for host in "${hosts[@]}"; do echo "  $host: {address: 127.0.0.1:${port[$host]}, key: \"${key[$host]}\"}"; done
} > "$scratch/origin/config/node.yaml"
group=$(IFS=,; echo "${hosts[*]}")
printf 'soak:\n  - [%s]\n' "$group" > "$scratch/origin/config/delivery.yaml"
for host in "${hosts[@]}"; do
    printf 'name: %s\nlisten: 127.0.0.1:%s\npeers:\n  origin: {address: 127.0.0.1:%s, key: "%s"}\n' \
        "$host" "${port[$host]}" "${port[origin]}" "${key[origin]}" > "$scratch/$host/config/node.yaml"
    # Each run leaves one line (its batch id) in the host's ledger; a repeated line is a double run.
    # The sleep (0 to 0.2 s) widens the window in which a kill lands mid-command.
    printf 'soak:\n  - echo "$CAFE_BATCH" >> %s/%s.ledger; sleep 0.$(( $(od -An -N1 -tu1 /dev/urandom) %% 3 ))\n' "$scratch" "$host" > "$scratch/$host/config/commands.yaml"
    echo 'origin: {requests: [soak]}' > "$scratch/$host/config/trust.yaml"
done
printf 'name: soak\nrequests:\n  - name: soak\n' > "$scratch/batch.yaml"

start() {
    "$bin/cafe-node" --home "$scratch/$1" --log-level warning 2>>"$scratch/$1.log" &
    pid[$1]=$!
    for _ in $(seq 200); do "$bin/cafe" status --home "$scratch/$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "node $1 did not start" >&2; tail "$scratch/$1.log" >&2; exit 1
}
for node in "${nodes[@]}"; do start "$node"; done

accepted=0 refused=0 kills=0
for i in $(seq 1 "$batches"); do
    if id="$("$bin/cafe" batch deliver --home "$scratch/origin" "$scratch/batch.yaml" 2>/dev/null)"; then
        accepted=$((accepted + 1))
    else
        refused=$((refused + 1))
    fi
    if (( RANDOM % 10 == 0 )); then
        victim="${nodes[$((RANDOM % ${#nodes[@]}))]}"
        kill -KILL "${pid[$victim]}" 2>/dev/null || true
        wait "${pid[$victim]}" 2>/dev/null || true
        kills=$((kills + 1))
        sleep 0.$((RANDOM % 5))
        start "$victim"
    fi
done

echo "waiting for every batch to finish..." >&2
for _ in $(seq "${SOAK_WAIT:-600}"); do
    left=$(ls "$scratch/origin/batches/queue" "$scratch/origin/batches/running" | grep -c '\.yaml$' || true)
    [ "$left" -eq 0 ] && break
    sleep 0.5
done

originals=$(ls "$scratch/origin/batches/original" | grep -c '\.yaml$' || true)
done_count=$(ls "$scratch/origin/batches/done" | grep -c '\.yaml$' || true)
error_count=$(ls "$scratch/origin/batches/error" | grep -c '\.yaml$' || true)
unfinished=$(ls "$scratch/origin/batches/queue" "$scratch/origin/batches/running" | grep -c '\.yaml$' || true)
both=0 none=0
for file in "$scratch/origin/batches/original"/*.yaml; do
    id="$(basename "$file" .yaml)"
    finals=0
    [ -f "$scratch/origin/batches/done/$id.yaml" ] && finals=$((finals + 1))
    [ -f "$scratch/origin/batches/error/$id.yaml" ] && finals=$((finals + 1))
    [ $finals -eq 2 ] && both=$((both + 1))
    [ $finals -eq 0 ] && none=$((none + 1))
done
runs=0 doubles=0
for host in "${hosts[@]}"; do
    [ -f "$scratch/$host.ledger" ] || continue
    runs=$((runs + $(wc -l < "$scratch/$host.ledger")))
    doubles=$((doubles + $(sort "$scratch/$host.ledger" | uniq -d | wc -l)))
done
interrupted=$(grep -l "interrupted: cafe-node" "$scratch/origin/batches/error"/*.yaml 2>/dev/null | wc -l)

echo "soak: $batches batches to $hostcount hosts; $kills kill -9 of random nodes"
echo "  accepted by the origin           $accepted (refused while it was down: $refused)"
echo "  saved originals                  $originals"
echo "  ended in done/                   $done_count"
echo "  ended in error/                  $error_count (of which interrupted by a kill: $interrupted)"
echo "  still unfinished                 $unfinished"
echo "  with two final files             $both"
echo "  with no final file               $none"
echo "  request runs on hosts            $runs"
echo "  requests that ran twice          $doubles"
if [ "$both" -ne 0 ] || [ "$none" -ne 0 ] || [ "$doubles" -ne 0 ] || [ "$unfinished" -ne 0 ]; then
    echo "FAILED: a batch did not end in exactly one final file, or a request ran twice" >&2
    keep=1
    exit 1
fi
echo "OK: every batch ended in exactly one final file; no request ran twice"
