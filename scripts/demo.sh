#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a local mesh of three nodes (jlore, monk1,
# cluster1 from config/, on 127.0.0.1, with keys generated on the fly in a scratch directory),
# runs the seed scenario (activate_dialup for cranky, password secret), prints the table,
# verifies the executed batch file, stops the nodes and removes the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/lib/sshd.sh
source scripts/lib/nodes.sh
scripts/install-deps.sh
build_cafe debug
scratch="$(mktemp -d /tmp/cafe-demo-XXXXXX)"
pids=()
cleanup() {
    stop_nodes
    rm -rf "$scratch"
}
trap cleanup EXIT

nodes=(jlore monk1 cluster1)
declare -A port key
echo "== cafe init: a home and a fresh Ed25519 key per node, in $scratch (free ports in place of 7401-7403)" >&2
for node in "${nodes[@]}"; do init_node "$node"; done
for node in "${nodes[@]}"; do
    for file in node delivery commands trust; do
        sed -e "s|127.0.0.1:7401|127.0.0.1:${port[jlore]}|; s|127.0.0.1:7402|127.0.0.1:${port[monk1]}|; s|127.0.0.1:7403|127.0.0.1:${port[cluster1]}|" \
            -e "s|ed25519:KEY-OF-jlore|${key[jlore]}|; s|ed25519:KEY-OF-monk1|${key[monk1]}|; s|ed25519:KEY-OF-cluster1|${key[cluster1]}|" \
            "$root/config/$node/$file.yaml" > "$scratch/$node/config/$file.yaml"
    done
done

echo "== starting cafe-node for ${nodes[*]}" >&2
for node in "${nodes[@]}"; do start_node "$node" info; done
wait_for_nodes "${nodes[@]}"

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
