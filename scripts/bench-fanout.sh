#!/usr/bin/env bash
# Fan-out benchmark: N cafe-node processes on 127.0.0.1 (default 50) plus an origin; one request
# to all of them in one group, running `true`. Prints the wall time from `cafe batch run` to the
# verified executed batch file (first run, with connections to open, and the median of warm
# runs), the idle resident memory of a node, and, in the same run, the time parallel-ssh takes
# to run `true` on the same number of targets (an sshd on 127.0.0.1 with throwaway keys), and
# the ratio. The ssh sessions get an empty HOME (no rc files), as a fleet host's remote shell
# would. With CAFE_BASE_BIN=DIR (the bin directory of another build, such as the previous
# release), the same measurement runs first with those binaries, for a before/after in one run.
# Release build. Usage: [CAFE_BASE_BIN=DIR] scripts/bench-fanout.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/sshd.sh
source scripts/lib/nodes.sh
count="${1:-50}"
runs="${2:-5}"
scripts/install-deps.sh
build_cafe release
scratch="$(mktemp -d /tmp/cafe-fanout-XXXXXX)"
pids=()
cleanup() {
    stop_nodes
    stop_sshd "$scratch/sshd"
    rm -rf "$scratch"
}
trap cleanup EXIT
now() { date +%s.%N; }

# cpu_ticks PID...: their user and system CPU time so far, in clock ticks.
cpu_ticks() {
    local pid total=0
    for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
    echo "$total"
}

# Our own children's CPU time (the cafe processes, once waited for), in clock ticks.
child_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }

# measure BIN LABEL: a fresh mesh of the origin and N hosts run by the binaries in BIN; sets
# cold, warm (seconds) and rss_kib, and the breakdown of the warm runs (CPU time of the origin,
# of the hosts and of the cafe processes; synced writes and commands, from each node's
# /metrics); and stops the mesh again.
measure() {
    bin="$1"
    local mesh="$scratch/$2"
    mkdir -p "$mesh"
    local saved_scratch="$scratch"
    scratch="$mesh"
    pids=()
    declare -gA port key
    declare -gA mport
    for node in origin "${hosts[@]}"; do
        init_node "$node"
        free_port "mport[$node]"
    done
    {
        echo "name: origin"; echo "listen: 127.0.0.1:${port[origin]}"; echo "peers:"
        for host in "${hosts[@]}"; do echo "  $host: {address: 127.0.0.1:${port[$host]}, key: \"${key[$host]}\"}"; done
    } > "$scratch/origin/config/node.yaml"
    local group
    group=$(IFS=,; echo "${hosts[*]}")
    echo "bench: [[$group]]" > "$scratch/origin/config/delivery.yaml"
    for host in "${hosts[@]}"; do
        printf 'name: %s\nlisten: 127.0.0.1:%s\npeers:\n  origin: {address: 127.0.0.1:%s, key: "%s"}\n' \
            "$host" "${port[$host]}" "${port[origin]}" "${key[origin]}" > "$scratch/$host/config/node.yaml"
        echo 'bench: [["true"]]' > "$scratch/$host/config/commands.yaml"
        echo 'origin: {requests: [bench]}' > "$scratch/$host/config/trust.yaml"
    done
    for node in origin "${hosts[@]}"; do
        echo "metrics: 127.0.0.1:${mport[$node]}" >> "$scratch/$node/config/node.yaml"
        start_node "$node"
    done
    wait_for_nodes origin "${hosts[@]}"
    sleep 1
    rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/${pids[1]}/status")
    printf 'name: fanout\nrequests:\n  - name: bench\n' > "$scratch/batch.yaml"
    local times=() start file host_ports=() node
    for node in "${hosts[@]}"; do host_ports+=("${mport[$node]}"); done
    for run in $(seq 1 "$runs"); do
        if [ "$run" = 2 ]; then
            read -r origin_syncs origin_sync_s _ _ < <(/usr/bin/python3 scripts/lib/metrics-sums.py "${mport[origin]}")
            read -r host_syncs host_sync_s _ host_command_s < <(/usr/bin/python3 scripts/lib/metrics-sums.py "${host_ports[@]}")
            # After the scrapes: their CPU is not the batches'.
            origin_ticks=$(cpu_ticks "${pids[0]}") host_ticks=$(cpu_ticks "${pids[@]:1}") cafe_ticks=$(child_ticks)
        fi
        start=$(now)
        file="$("$bin/cafe" batch run --home "$scratch/origin" --timeout 60 "$scratch/batch.yaml" 2>/dev/null | tail -n 1)"
        "$bin/cafe" verify --home "$scratch/origin" "$file" >/dev/null
        times+=("$(awk "BEGIN {print $(now) - $start}")")
    done
    # Per warm batch: CPU in ms, synced writes and their ms, command ms.
    local warm_runs=$((runs - 1)) tick_ms=$((1000 / $(getconf CLK_TCK)))
    local ticks_now
    ticks_now=$(child_ticks)
    origin_cpu=$(awk "BEGIN {print ($(cpu_ticks "${pids[0]}") - $origin_ticks) * $tick_ms / $warm_runs}")
    host_cpu=$(awk "BEGIN {print ($(cpu_ticks "${pids[@]:1}") - $host_ticks) * $tick_ms / $warm_runs}")
    cafe_cpu=$(awk "BEGIN {print ($ticks_now - $cafe_ticks) * $tick_ms / $warm_runs}")
    local syncs sync_s command_s
    read -r syncs sync_s _ _ < <(/usr/bin/python3 scripts/lib/metrics-sums.py "${mport[origin]}")
    origin_syncs=$(awk "BEGIN {print ($syncs - $origin_syncs) / $warm_runs}") origin_sync_ms=$(awk "BEGIN {print ($sync_s - $origin_sync_s) * 1000 / $warm_runs}")
    read -r syncs sync_s _ command_s < <(/usr/bin/python3 scripts/lib/metrics-sums.py "${host_ports[@]}")
    host_syncs=$(awk "BEGIN {print ($syncs - $host_syncs) / $warm_runs}") host_sync_ms=$(awk "BEGIN {print ($sync_s - $host_sync_s) * 1000 / $warm_runs}")
    host_command_ms=$(awk "BEGIN {print ($command_s - $host_command_s) * 1000 / $warm_runs}")
    cold="${times[0]}"
    warm="$(printf '%s\n' "${times[@]:1}" | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}')"
    stop_nodes
    pids=()
    scratch="$saved_scratch"
}

hosts=()
for i in $(seq 1 "$count"); do hosts+=("h$i"); done
# breakdown: the figures of the last measure, per warm batch.
breakdown() {
    printf '    CPU: origin %.1f ms, %d hosts %.1f ms (%.2f ms each), cafe + cafe verify (and this script'"'"'s date and awk) %.1f ms; all of it over %d cores: %.1f ms\n' \
        "$origin_cpu" "$count" "$host_cpu" "$(awk "BEGIN {print $host_cpu / $count}")" "$cafe_cpu" "$(nproc)" \
        "$(awk "BEGIN {print ($origin_cpu + $host_cpu + $cafe_cpu) / $(nproc)}")"
    printf '    synced writes: origin %.1f taking %.1f ms, hosts %.1f (%.2f each) taking %.1f ms in all\n' \
        "$origin_syncs" "$origin_sync_ms" "$host_syncs" "$(awk "BEGIN {print $host_syncs / $count}")" "$host_sync_ms"
    printf '    commands: %.1f ms in all (%.2f ms each, spawn to exit, on the hosts'"'"' runner threads)\n' \
        "$host_command_ms" "$(awk "BEGIN {print $host_command_ms / $count}")"
}

if [ -n "${CAFE_BASE_BIN:-}" ]; then
    measure "$CAFE_BASE_BIN" before
    base_cold="$cold" base_warm="$warm" base_rss="$rss_kib" base_breakdown="$(breakdown)"
fi
measure "$bin" after

free_port sshport
# The baseline gets what a fleet host's remote shell has: an empty HOME, so no rc files run.
mkdir -p "$scratch/empty-home"
start_sshd "$scratch/sshd" "$sshport" "$scratch/empty-home"
for _ in $(seq 1 "$count"); do echo "root@127.0.0.1:$sshport"; done > "$scratch/pssh-hosts"
ssh_times=()
for run in $(seq 1 "$runs"); do
    start=$(now)
    parallel-ssh -h "$scratch/pssh-hosts" -p "$count" -t 60 \
        -x "-i $scratch/sshd/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes" \
        true >/dev/null
    ssh_times+=("$(awk "BEGIN {print $(now) - $start}")")
done
ssh="$(printf '%s\n' "${ssh_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"

echo "fan-out to $count cafe-node processes on 127.0.0.1, request running \`true\` ($runs runs; release build)"
if [ -n "${CAFE_BASE_BIN:-}" ]; then
    printf '  before: the binaries in %s\n' "$CAFE_BASE_BIN"
    printf '  before, first run                            %7.3f s\n' "$base_cold"
    printf '  before, median warm                          %7.3f s   (%.1fx parallel-ssh)\n' "$base_warm" "$(awk "BEGIN {print $ssh / $base_warm}")"
    printf '  before, idle cafe-node resident memory       %7.1f MiB\n' "$(awk "BEGIN {print $base_rss / 1024}")"
    printf '  before, per warm batch:\n%s\n' "$base_breakdown"
fi
printf '  cafe batch run + cafe verify, first run      %7.3f s\n' "$cold"
printf '  cafe batch run + cafe verify, median warm    %7.3f s   (issue 10 target <= 0.100 s at 50 hosts, 0.400 s at 200)\n' "$warm"
printf '  parallel-ssh true, median                    %7.3f s   (baseline, same run)\n' "$ssh"
printf '  ratio parallel-ssh / cafe (warm)             %7.1f x   (issue 10 target >= 30x)\n' "$(awk "BEGIN {print $ssh / $warm}")"
printf '  idle cafe-node resident memory               %7.1f MiB (target <= 20 MiB)\n' "$(awk "BEGIN {print $rss_kib / 1024}")"
printf '  per warm batch:\n'
breakdown
