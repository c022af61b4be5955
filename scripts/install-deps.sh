#!/usr/bin/env bash
# Installs the Debian packages CafeBatch needs, if any is missing. Needs root (or sudo) and apt.
#   libsodium-dev, libyaml-dev, pkg-config   build: crypto and YAML libraries, their pkg-config files
#   openssh-client/-server      drop-box transport and its tests (scp, a throwaway sshd)
#   pssh                        the parallel-ssh baseline of the fan-out benchmark
#   iproute2                    network-namespace tests
#   python3-prometheus-client   the metrics test reads /metrics with Prometheus's own parser
#   chromium                    the `cafe show --html` test loads the page in a real headless browser
set -euo pipefail
packages=(libsodium-dev libyaml-dev pkg-config openssh-client openssh-server pssh iproute2 python3-prometheus-client chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine (or a Docker-like image) may have no package lists yet.
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/cafe-apt.log 2>&1; then
    $sudo apt-get update >/tmp/cafe-apt-update.log 2>&1
    $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/cafe-apt.log 2>&1 || {
        cat /tmp/cafe-apt.log >&2
        exit 1
    }
fi
