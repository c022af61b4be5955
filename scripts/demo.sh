#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a local mesh of three nodes (jlore, monk1,
# cluster1 from config/, on 127.0.0.1, with keys generated on the fly in a scratch directory),
# runs the seed scenario (activate_dialup for cranky, password secret), prints the table,
# verifies the executed batch file, stops the nodes and removes the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/lib/sshd.sh
scripts/install-deps.sh
swift build --product cafe >&2
swift build --product cafe-node >&2
bin="$(swift build --show-bin-path)"
scratch="$(mktemp -d /tmp/cafe-demo-XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

nodes=(jlore monk1 cluster1)
# Three free ports on 127.0.0.1, in place of config/'s 7401-7403.
declare -A port
for node in "${nodes[@]}"; do port[$node]=$(free_port); done

echo "== cafe init: a home and a fresh Ed25519 key per node, in $scratch" >&2
declare -A key
for node in "${nodes[@]}"; do
    "$bin/cafe" init --home "$scratch/$node" --name "$node" --listen "127.0.0.1:${port[$node]}" >/dev/null
    key[$node]="$("$bin/cafe" key show --home "$scratch/$node" | cut -d' ' -f2)"
done
for node in "${nodes[@]}"; do
    for file in node delivery commands trust; do
        sed -e "s|127.0.0.1:7401|127.0.0.1:${port[jlore]}|; s|127.0.0.1:7402|127.0.0.1:${port[monk1]}|; s|127.0.0.1:7403|127.0.0.1:${port[cluster1]}|" \
            -e "s|ed25519:KEY-OF-jlore|${key[jlore]}|; s|ed25519:KEY-OF-monk1|${key[monk1]}|; s|ed25519:KEY-OF-cluster1|${key[cluster1]}|" \
            "$root/config/$node/$file.yaml" > "$scratch/$node/config/$file.yaml"
    done
done

echo "== starting cafe-node for ${nodes[*]}" >&2
for node in "${nodes[@]}"; do
    "$bin/cafe-node" --home "$scratch/$node" 2>"$scratch/$node.log" &
    pids+=($!)
done
for node in "${nodes[@]}"; do
    for _ in $(seq 100); do [ -S "$scratch/$node/run/control.sock" ] && break; sleep 0.1; done
done

echo "== cafe batch run config/seed-batch.yaml (from jlore)" >&2
set +e
file="$("$bin/cafe" batch run --home "$scratch/jlore" --timeout 60 "$root/config/seed-batch.yaml" | tail -n 1)"
status=$?
set -e
if [ $status -ne 0 ] || [ -z "$file" ]; then
    echo "the batch did not succeed (status $status); node logs:" >&2
    tail -n 20 "$scratch"/*.log >&2
    exit 1
fi

echo "== cafe verify $file" >&2
"$bin/cafe" verify --home "$scratch/jlore" "$file"
echo "== stopping the nodes" >&2
