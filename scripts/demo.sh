#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs the seed scenario end to end on a
# throwaway node home, then verifies the executed batch file. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
scripts/install-deps.sh
swift build --product cafe >&2
bin="$(swift build --show-bin-path)"
scratch="$(mktemp -d /tmp/cafe-demo-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT

echo "== cafe init: a node home for jlore with a fresh Ed25519 key" >&2
"$bin/cafe" init --home "$scratch/jlore" --name jlore --listen 127.0.0.1:7401
cp "$root/config/jlore/commands.yaml" "$scratch/jlore/config/commands.yaml"

echo "== cafe batch run --local config/seed-batch.yaml" >&2
file="$("$bin/cafe" batch run --local --home "$scratch/jlore" "$root/config/seed-batch.yaml" | tail -n 1)"

echo "== cafe show" >&2
"$bin/cafe" show --home "$scratch/jlore" "$file"
echo "== cafe verify" >&2
"$bin/cafe" verify --home "$scratch/jlore" "$file"
