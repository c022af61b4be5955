#!/usr/bin/env bash
# Installs CafeBatch under PREFIX (default /usr/local), release build:
#   bin/cafe, bin/cafe-node
#   share/man/man1/           cafe(1) and a page per subcommand (swift-argument-parser's
#                             generate-manual plugin), cafe-node(1) (contrib/man)
#   share/bash-completion/completions/cafe, share/zsh/site-functions/_cafe,
#   share/fish/vendor_completions.d/cafe.fish   (cafe --generate-completion-script)
#   lib/systemd/system/cafe-node.service        (contrib/systemd, paths set to PREFIX)
#   share/doc/cafebatch/      README.md and docs/
# Usage: scripts/install.sh [PREFIX]      then see docs/service.md
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
scripts/install-deps.sh
swift build -c release --product cafe >&2
swift build -c release --product cafe-node >&2
bin="$(swift build -c release --show-bin-path)"
manual="$(mktemp -d /tmp/cafe-man-XXXXXX)"
trap 'rm -rf "$manual"' EXIT
swift package plugin --allow-writing-to-directory "$manual" generate-manual --multi-page --output-directory "$manual" >&2

install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/bash-completion/completions" \
    "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d" "$prefix/lib/systemd/system" \
    "$prefix/share/doc/cafebatch/modules"
install -m 755 "$bin/cafe" "$bin/cafe-node" "$prefix/bin/"
install -m 644 "$manual"/*.1 contrib/man/cafe-node.1 "$prefix/share/man/man1/"
"$bin/cafe" --generate-completion-script bash > "$prefix/share/bash-completion/completions/cafe"
"$bin/cafe" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_cafe"
"$bin/cafe" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/cafe.fish"
sed "s#@PREFIX@#$prefix#g" contrib/systemd/cafe-node.service > "$prefix/lib/systemd/system/cafe-node.service"
chmod 644 "$prefix/lib/systemd/system/cafe-node.service"
install -m 644 README.md docs/*.md "$prefix/share/doc/cafebatch/"
install -m 644 docs/modules/*.md "$prefix/share/doc/cafebatch/modules/"
echo "installed CafeBatch $("$prefix/bin/cafe" --version) under $prefix ($(ls "$prefix/share/man/man1" | wc -l) man pages)"
echo "as a service: see $prefix/share/doc/cafebatch/service.md (user cafe, cafe init, systemctl enable --now cafe-node)"
