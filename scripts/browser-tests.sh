#!/usr/bin/env bash
# Browser journeys through the web console: Debian's chromium driven by playwright-core against
# `reprise serve --demo` on a throwaway SQLite database and a free loopback port.
#
#   bash scripts/browser-tests.sh                       # run every journey
#   UPDATE_SCREENSHOTS=1 bash scripts/browser-tests.sh  # and refresh docs/screenshots/
#
# Installs what is missing (the chromium Debian package, then `npm ci` in tests/browser), builds
# the binary, waits for /readyz, runs `node --test`, keeps screenshots and the server log in
# target/browser-artifacts/, stops the server, and exits non-zero when a journey fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
artifacts="$root/target/browser-artifacts"
chromium="${CHROMIUM:-/usr/bin/chromium}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else echo "browser-tests: root is needed to run: $*" >&2; return 1
  fi
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" \
    || { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; }
}

if [ ! -x "$chromium" ]; then
  echo "browser-tests: installing chromium"
  apt_install chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "browser-tests: installing node and npm"
  apt_install nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "browser-tests: Node.js 20 or newer is needed (found $(node --version))" >&2
  exit 1
fi

echo "browser-tests: npm ci in tests/browser"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

# The versions a failure depends on, so a log from another machine tells which build ran.
# (Debian's chromium wrapper prints shell noise on stderr; only its version line matters.)
echo "browser-tests: $("$chromium" --version 2>/dev/null | head -n 1)"
echo "browser-tests: Node.js $(node --version), playwright-core $(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version')"

echo "browser-tests: building reprise"
cargo build --quiet --bin reprise

rm -rf "$artifacts"
mkdir -p "$artifacts"
workdir="$(mktemp -d)"
log="$artifacts/server.log"
NO_COLOR=1 REPRISE_LOG=info \
  REPRISE_DATABASE_URL="sqlite://$workdir/reprise.db" REPRISE_BIND=127.0.0.1:0 \
  "${CARGO_TARGET_DIR:-$root/target}/debug/reprise" serve --demo >"$log" 2>&1 &
server=$!

cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

port=""
for _ in $(seq 1 240); do
  port="$(grep -ao 'listening on: 127\.0\.0\.1:[0-9]*' "$log" | head -n 1 | sed 's/.*://' || true)"
  [ -n "$port" ] && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "browser-tests: the server stopped before listening:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
if [ -z "$port" ]; then
  echo "browser-tests: the server did not start listening" >&2
  cat "$log" >&2
  exit 1
fi
url="http://127.0.0.1:$port"

ready=""
for _ in $(seq 1 120); do
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/readyz"; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "browser-tests: $url/readyz never answered 200" >&2
  cat "$log" >&2
  exit 1
fi
echo "browser-tests: server ready at $url"

status=0
(cd tests/browser && REPRISE_URL="$url" ARTIFACTS_DIR="$artifacts" CHROMIUM="$chromium" \
  REPRISE_MAIL_DIR="$workdir/mail" \
  node --test --test-reporter=spec journeys.test.mjs) || status=$?

if [ "$status" = 0 ] && [ "${UPDATE_SCREENSHOTS:-}" = 1 ]; then
  mkdir -p docs/screenshots
  for name in seller-feedback seller-offline author-upload-errors author-pack author-editor hr-view hr-experiments \
    seller-standing seller-coach-note hr-leaderboard hr-risk-refresher hr-refreshers hr-notes knowledge-application \
    pitch-recording pitch-review; do
    cp "$artifacts/$name.png" "docs/screenshots/$name.png"
  done
  echo "browser-tests: docs/screenshots/ refreshed"
fi

echo "browser-tests: screenshots and the server log are in ${artifacts#"$root"/}/"
exit "$status"
