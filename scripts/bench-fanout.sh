#!/usr/bin/env bash
# Fan-out benchmark: N cafe-node processes on 127.0.0.1 (default 50) plus an origin; one request
# to all of them in one group, running `true`. Prints the wall time from `cafe batch run` to the
# verified executed batch file (first run, with connections to open, and the median of warm
# runs), the idle resident memory of a node, and, in the same run, the time parallel-ssh takes
# to run `true` on the same number of targets (an sshd on 127.0.0.1 with throwaway keys), and
# the ratio. The ssh sessions get an empty HOME (no rc files), as a fleet host's remote shell
# would. With CAFE_BASE_BIN=DIR (the bin directory of another build, such as the previous
# release), a second mesh runs those binaries, and the runs alternate between the two meshes:
# a before/after in one run, both under the same conditions.
# Release build. Usage: [CAFE_BASE_BIN=DIR] scripts/bench-fanout.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/sshd.sh
source scripts/lib/nodes.sh
count="${1:-50}"
runs="${2:-5}"
scripts/install-deps.sh
build_cafe release
scratch_root="$(mktemp -d /tmp/cafe-fanout-XXXXXX)"
scratch="$scratch_root"
pids=()
cleanup() {
    local label
    for label in "${!mesh_pids[@]}"; do
        read -r -a pids <<< "${mesh_pids[$label]}"
        resume_nodes
        stop_nodes
    done
    stop_sshd "$scratch_root/sshd"
    rm -rf "$scratch_root"
}
trap cleanup EXIT
now() { date +%s.%N; }

# Per mesh (LABEL: before or after): its binaries, node pids, metrics ports, wall times, and the
# counters of its warm runs so far.
declare -A mesh_bin mesh_dir mesh_pids mesh_mports mesh_times mesh_rss mesh_cafe_ticks
declare -A mesh_origin_ticks mesh_host_ticks mesh_origin_m mesh_host_m
declare -gA port key mport

# mesh_up LABEL BIN: a fresh mesh of the origin and N hosts run by the binaries in BIN, started
# and idle, with its resident memory read (rss of h1 before any batch).
mesh_up() {
    local label="$1" node
    bin="$2"
    scratch="$scratch_root/$label"
    mkdir -p "$scratch"
    pids=()
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
    printf 'name: fanout\nrequests:\n  - name: bench\n' > "$scratch/batch.yaml"
    mesh_bin[$label]="$bin" mesh_dir[$label]="$scratch" mesh_pids[$label]="${pids[*]}" mesh_times[$label]="" mesh_cafe_ticks[$label]=0
    mesh_origin_ticks[$label]=0 mesh_host_ticks[$label]=0
    local ports=()
    for node in "${hosts[@]}"; do ports+=("${mport[$node]}"); done
    mesh_mports[$label]="${mport[origin]} ${ports[*]}"
}

# mesh_batch LABEL RUN: one `cafe batch run` and `cafe verify` on the mesh, timed. Before the
# first warm run (RUN 2) its metrics are read, so that the breakdown covers the warm runs only.
# The CPU time of its nodes is read just before and after each batch: the other mesh's batches,
# the scrapes and the stop of a mesh fall outside (the nodes' own idle ticks during the batch
# count, as they would on a host). The other mesh is stopped (SIGSTOP) meanwhile: its idle nodes
# take no CPU from this batch, as another site's hosts would not.
mesh_batch() {
    local label="$1" run="$2" start file ticks origin_ticks host_ticks other
    local -a mpids mports
    read -r -a mpids <<< "${mesh_pids[$label]}"
    read -r -a mports <<< "${mesh_mports[$label]}"
    for other in "${!mesh_pids[@]}"; do
        if [ "$other" != "$label" ]; then read -r -a pids <<< "${mesh_pids[$other]}"; pause_nodes; fi
    done
    pids=("${mpids[@]}")
    resume_nodes
    # Time for the nodes just resumed to run their late ticks.
    sleep 0.3
    if [ "$run" = 2 ]; then
        mesh_origin_m[$label]="$(/usr/bin/python3 scripts/lib/metrics-sums.py "${mports[0]}")"
        mesh_host_m[$label]="$(/usr/bin/python3 scripts/lib/metrics-sums.py "${mports[@]:1}")"
    fi
    origin_ticks=$(cpu_ticks "${mpids[0]}") host_ticks=$(cpu_ticks "${mpids[@]:1}")
    # This script's own children (the cafe processes, once waited for).
    ticks=$(children_ticks $$)
    start=$(now)
    file="$("${mesh_bin[$label]}/cafe" batch run --home "${mesh_dir[$label]}/origin" --timeout 60 "${mesh_dir[$label]}/batch.yaml" 2>/dev/null | tail -n 1)"
    "${mesh_bin[$label]}/cafe" verify --home "${mesh_dir[$label]}/origin" "$file" >/dev/null
    mesh_times[$label]+="$(awk "BEGIN {print $(now) - $start}") "
    if [ "$run" -ge 2 ]; then
        mesh_cafe_ticks[$label]=$((mesh_cafe_ticks[$label] + $(children_ticks $$) - ticks))
        mesh_origin_ticks[$label]=$((mesh_origin_ticks[$label] + $(cpu_ticks "${mpids[0]}") - origin_ticks))
        mesh_host_ticks[$label]=$((mesh_host_ticks[$label] + $(cpu_ticks "${mpids[@]:1}") - host_ticks))
    fi
}

# mesh_down LABEL: sets cold, warm (seconds) and rss_kib, and the breakdown of the warm runs
# (CPU time of the origin, of the hosts and of the cafe processes; synced writes and commands,
# from each node's /metrics); and stops the mesh.
mesh_down() {
    local label="$1" syncs sync_s command_s before_syncs before_sync_s before_command_s
    local -a mpids mports times
    read -r -a mpids <<< "${mesh_pids[$label]}"
    read -r -a mports <<< "${mesh_mports[$label]}"
    read -r -a times <<< "${mesh_times[$label]}"
    pids=("${mpids[@]}")
    resume_nodes
    local warm_runs=$((runs - 1)) tick_ms=$((1000 / $(getconf CLK_TCK)))
    origin_cpu=$(awk "BEGIN {print ${mesh_origin_ticks[$label]} * $tick_ms / $warm_runs}")
    host_cpu=$(awk "BEGIN {print ${mesh_host_ticks[$label]} * $tick_ms / $warm_runs}")
    cafe_cpu=$(awk "BEGIN {print ${mesh_cafe_ticks[$label]} * $tick_ms / $warm_runs}")
    read -r before_syncs before_sync_s _ _ <<< "${mesh_origin_m[$label]}"
    read -r syncs sync_s _ _ < <(/usr/bin/python3 scripts/lib/metrics-sums.py "${mports[0]}")
    origin_syncs=$(awk "BEGIN {print ($syncs - $before_syncs) / $warm_runs}") origin_sync_ms=$(awk "BEGIN {print ($sync_s - $before_sync_s) * 1000 / $warm_runs}")
    read -r before_syncs before_sync_s _ before_command_s <<< "${mesh_host_m[$label]}"
    read -r syncs sync_s _ command_s < <(/usr/bin/python3 scripts/lib/metrics-sums.py "${mports[@]:1}")
    host_syncs=$(awk "BEGIN {print ($syncs - $before_syncs) / $warm_runs}") host_sync_ms=$(awk "BEGIN {print ($sync_s - $before_sync_s) * 1000 / $warm_runs}")
    host_command_ms=$(awk "BEGIN {print ($command_s - $before_command_s) * 1000 / $warm_runs}")
    rss_kib="${mesh_rss[$label]}"
    cold="${times[0]}"
    warm="$(printf '%s\n' "${times[@]:1}" | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}')"
    stop_nodes
    pids=()
    unset "mesh_pids[$label]"
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

# Both meshes are up at once, idle but for the batch being timed; with a base, the runs alternate
# between them, so that both builds meet the same machine (its speed drifts by tens of percent
# over minutes here).
labels=(after)
after_bin="$bin"
if [ -n "${CAFE_BASE_BIN:-}" ]; then
    labels=(before after)
    mesh_up before "$CAFE_BASE_BIN"
fi
mesh_up after "$after_bin"
sleep 1
for label in "${labels[@]}"; do
    read -r -a mpids <<< "${mesh_pids[$label]}"
    mesh_rss[$label]=$(awk '/VmRSS/ {print $2}' "/proc/${mpids[1]}/status")
done
for run in $(seq 1 "$runs"); do
    # In turns that swap every run (before, after, after, before, …): a batch may meet the end of
    # the one just before it, and each build is that one equally often.
    order=("${labels[@]}")
    if [ $((run % 2)) = 0 ]; then order=($(printf '%s\n' "${labels[@]}" | tac)); fi
    for label in "${order[@]}"; do mesh_batch "$label" "$run"; done
done
# Idle CPU: every mesh up and resumed, links open, no batch; the hosts' CPU over 5 s.
declare -A mesh_idle_ticks mesh_idle
for label in "${labels[@]}"; do read -r -a pids <<< "${mesh_pids[$label]}"; resume_nodes; done
sleep 1
for label in "${labels[@]}"; do read -r -a mpids <<< "${mesh_pids[$label]}"; mesh_idle_ticks[$label]=$(cpu_ticks "${mpids[@]:1}"); done
sleep 5
for label in "${labels[@]}"; do
    read -r -a mpids <<< "${mesh_pids[$label]}"
    mesh_idle[$label]=$(awk "BEGIN {print ($(cpu_ticks "${mpids[@]:1}") - ${mesh_idle_ticks[$label]}) * 1000 / $(getconf CLK_TCK) / 5 / $count}")
done
if [ -n "${CAFE_BASE_BIN:-}" ]; then
    mesh_down before
    base_cold="$cold" base_warm="$warm" base_rss="$rss_kib" base_breakdown="$(breakdown)"
fi
mesh_down after

scratch="$scratch_root"
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
    printf '  before, idle cafe-node CPU                   %7.2f ms per second (a host node, links open)\n' "${mesh_idle[before]}"
    printf '  before, per warm batch:\n%s\n' "$base_breakdown"
fi
printf '  cafe batch run + cafe verify, first run      %7.3f s\n' "$cold"
printf '  cafe batch run + cafe verify, median warm    %7.3f s   (issue 10 target <= 0.100 s at 50 hosts, 0.400 s at 200)\n' "$warm"
printf '  parallel-ssh true, median                    %7.3f s   (baseline, same run)\n' "$ssh"
printf '  ratio parallel-ssh / cafe (warm)             %7.1f x   (issue 10 target >= 30x)\n' "$(awk "BEGIN {print $ssh / $warm}")"
printf '  idle cafe-node resident memory               %7.1f MiB (target <= 20 MiB)\n' "$(awk "BEGIN {print $rss_kib / 1024}")"
printf '  idle cafe-node CPU                           %7.2f ms per second (a host node, links open)\n' "${mesh_idle[after]}"
printf '  per warm batch:\n'
breakdown
