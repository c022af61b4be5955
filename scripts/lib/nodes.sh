# Shell helpers for scripts that run local meshes of cafe-node processes (demo, benchmarks,
# soak). Source after scripts/lib/sshd.sh (for free_port); the caller declares
# `declare -A port key`, sets `scratch`, and starts with `pids=()`.

# build_cafe MODE: builds cafe and cafe-node in MODE (debug or release); sets $bin.
build_cafe() {
    swift build -c "$1" --product cafe >&2
    swift build -c "$1" --product cafe-node >&2
    bin="$(swift build -c "$1" --show-bin-path)"
}

# init_node NAME: a home in $scratch/NAME with a fresh key, listening on a free port of
# 127.0.0.1; sets port[NAME] and key[NAME] (the `ed25519:…` text).
init_node() {
    local chosen
    free_port chosen
    port[$1]=$chosen
    "$bin/cafe" init --home "$scratch/$1" --name "$1" --listen "127.0.0.1:${port[$1]}" >/dev/null
    key[$1]="$("$bin/cafe" key show --home "$scratch/$1" | cut -d' ' -f2)"
}

# start_node NAME [LEVEL]: cafe-node for NAME in the background, logging to $scratch/NAME.log.
start_node() {
    "$bin/cafe-node" --home "$scratch/$1" --log-level "${2:-warning}" 2>>"$scratch/$1.log" &
    pids+=($!)
}

# wait_for_nodes NAME...: until each node's control socket is there (at most 10 s each).
wait_for_nodes() {
    local node
    for node in "$@"; do
        for _ in $(seq 200); do [ -S "$scratch/$node/run/control.sock" ] && break; sleep 0.05; done
    done
}

# stop_nodes: SIGTERM to every process in pids, and wait for them.
stop_nodes() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# pause_nodes / resume_nodes: SIGSTOP / SIGCONT to every process in pids.
pause_nodes() { kill -STOP "${pids[@]}" 2>/dev/null || true; }
resume_nodes() { kill -CONT "${pids[@]}" 2>/dev/null || true; }

# cpu_ticks PID...: their user and system CPU time so far, in clock ticks (one awk for them all,
# so that reading 200 processes takes milliseconds).
cpu_ticks() {
    local pid files=()
    for pid in "$@"; do files+=("/proc/$pid/stat"); done
    awk '{total += $14 + $15} END {print total + 0}' "${files[@]}"
}

# children_ticks PID: the CPU time of the children PID has waited for (user and system), in
# clock ticks.
children_ticks() { awk '{print $16 + $17}' "/proc/$1/stat"; }
