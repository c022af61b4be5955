#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test, then a 60-second
# fuzzing smoke run of envelope decode+verify. Exit status is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
scripts/fuzz.sh 60
