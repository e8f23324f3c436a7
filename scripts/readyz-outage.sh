#!/usr/bin/env bash
# Readiness through a database outage: /readyz is 200, turns 503 while PostgreSQL is stopped,
# and the service answers again (readiness and an authenticated request) once it is back.
# Usage: scripts/readyz-outage.sh PGBIN PGDATA PGSOCKDIR PGPORT  (run by .ci/run)
set -euo pipefail
PGBIN=$1 PGDATA=$2 PGSOCK=$3 PGPORT=$4
BIN=${REPRISE_BIN:-${CARGO_TARGET_DIR:-target}/debug/reprise}
[ -x "$BIN" ] || { echo "readyz-outage: no server binary at $BIN (build it first)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
db="reprise_outage_$$"
as_pg "$PGBIN/psql" -h "$PGSOCK" -p "$PGPORT" -U postgres -qc "CREATE DATABASE $db" postgres
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REPRISE_DATABASE_URL="postgres://postgres@localhost:$PGPORT/$db?host=$PGSOCK" \
REPRISE_JWT_SECRET=outage-check-secret-outage-check-secret-1 \
REPRISE_SECRET_KEY=0101010101010101010101010101010101010101010101010101010101010101 \
REPRISE_VAPID_PRIVATE_KEY=AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE \
REPRISE_BIND="127.0.0.1:$port" REPRISE_LOG=error "$BIN" serve >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
url="http://127.0.0.1:$port"
wait_status() { # expected status, seconds
  for _ in $(seq 1 $(( $2 * 4 ))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = "$1" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "readyz-outage: the server exited" >&2; return 1; }
    sleep 0.25
  done
  echo "readyz never answered $1" >&2; return 1
}
wait_status 200 60
token=$(curl -sf "$url/api/v1/orgs" -H 'content-type: application/json' \
  -d '{"org_name":"Outage Co","admin_email":"ada@outage.example","admin_password":"a-long-enough-password","admin_name":"Ada"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null
wait_status 503 30
echo "readyz: 503 while the database is down"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/../server.log" -w \
  -o "-k $PGSOCK -p $PGPORT -c listen_addresses='' -c fsync=off -c max_connections=400" start >/dev/null
wait_status 200 60
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/me" -H "authorization: Bearer $token")" = 200 ]
echo "readyz: 200 again after the database came back; requests served"
