#!/usr/bin/env bash
# Refresh the vendored browser libraries from npm and check their sha256. The files are committed, so
# neither ./scripts/run.sh nor the running app needs npm or a CDN; this script is only for upgrades.
# Usage: scripts/vendor.sh            refresh and verify
#        scripts/vendor.sh --check    verify the committed files only (no network)
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  file inside the package  destination  sha256 of that exact file
VENDORED=(
  "@viz-js/viz@3.31.0 dist/viz-global.js static/vendor/viz-global.js c9e0b310f9883910e01c66054b48b7ff4be3d8695141116635e72b0af152692e"
  "chart.js@4.6.1 dist/chart.umd.min.js static/vendor/chart.umd.min.js 87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"
)

verify() {  # verify <file> <sha256>
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    echo "FAILED: $1 has sha256 $got, expected $2" >&2
    return 1
  fi
  echo "ok: $1"
}

for entry in "${VENDORED[@]}"; do
  read -r pkg src dest sha <<<"$entry"
  if [ "${1:-}" != "--check" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm install --silent --no-audit --no-fund --save-exact "$pkg" >/dev/null)
    name="${pkg%@*}"
    cp "$tmp/node_modules/$name/$src" "$dest"
    rm -rf "$tmp"
  fi
  verify "$dest" "$sha"
done
