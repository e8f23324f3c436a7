#!/usr/bin/env bash
# SCIM compliance: runs scim2-tester (the python-scim project's checker of RFC 7643/7644) against
# Reprise's SCIM service provider.
#
# Builds the server, starts `reprise serve` on a fresh SQLite file and a free loopback port,
# signs up an organization through the API, issues its SCIM token (POST /api/v1/org/scim-token)
# and runs scripts/scim_check.py against http://127.0.0.1:PORT/scim/v2. Exits non-zero when the
# checker reports a failure.
#
# Environment:
#   CARGO_TARGET_DIR  where the server is built and the checker's venv is kept
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/serve-helpers.sh
. scripts/serve-helpers.sh

SCIM2_TESTER_VERSION=0.5.2
# The checker's HTTP client: scim2-client with its httpx2 engine.
SCIM2_CLIENT_VERSION=0.13.2
target=${CARGO_TARGET_DIR:-$root/target}

# The checker in its own venv, pinned, kept between runs.
venv="$target/scim-check/venv-$SCIM2_TESTER_VERSION"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import scim2_tester, httpx2' 2>/dev/null; then
  echo "== installing scim2-tester $SCIM2_TESTER_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-tester==$SCIM2_TESTER_VERSION" "scim2-client[httpx2]==$SCIM2_CLIENT_VERSION"
fi

echo "== building the server"
cargo build --quiet --bin reprise
bin="$target/debug/reprise"

work=$(mktemp -d /tmp/reprise-scim-check.XXXXXX)
port=$(free_port)
url="http://127.0.0.1:$port"
server_pid=
cleanup() {
  stop_server "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting the server on $url"
REPRISE_DATABASE_URL="sqlite://$work/scim.db" \
REPRISE_BIND="127.0.0.1:$port" \
REPRISE_PUBLIC_URL="$url" \
REPRISE_LOG=warn \
  "$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
wait_ready "$url" "$server_pid" "$work/server.log"

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
admin=$(curl -sf "$url/api/v1/orgs" -H 'content-type: application/json' -d '{
  "org_name": "SCIM Check", "admin_email": "admin@scim-check.example",
  "admin_password": "a-long-enough-password", "admin_name": "Ada Admin"}' \
  | json_field '["tokens"]["access_token"]')
SCIM_TOKEN=$(curl -sf -X POST "$url/api/v1/org/scim-token" -H "authorization: Bearer $admin" \
  | json_field '["token"]')
export SCIM_TOKEN

echo "== scim2-tester $SCIM2_TESTER_VERSION against $url/scim/v2"
status=0
"$venv/bin/python" scripts/scim_check.py "$url/scim/v2" || status=$?
if [ "$status" != 0 ]; then
  echo "== server log" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
