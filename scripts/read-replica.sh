#!/usr/bin/env bash
# Analytics on a read replica: starts a throwaway PostgreSQL primary and a streaming replica made
# with `pg_basebackup -R`, serves the demo organization with REPRISE_READ_DATABASE_URL on the
# replica, and checks that
#   1. the analytics views and the exports answer from the replica (X-Reprise-Read-Source),
#   2. an answer recorded through the API (on the primary) shows in a replica-backed view,
#   3. with the replica stopped they still answer 200, from the primary, with a warning logged,
#   4. once the replica is back, it answers again.
# Usage: scripts/read-replica.sh [PGBIN] [PRIMARY_PORT] [REPLICA_PORT]  (run by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
PGBIN=${1:-${PGBIN:-/usr/lib/postgresql/15/bin}}
PRIMARY_PORT=${2:-55433}
REPLICA_PORT=${3:-55434}
if [ -z "${REPRISE_BIN:-}" ]; then cargo build --quiet --bin reprise; fi
BIN=${REPRISE_BIN:-${CARGO_TARGET_DIR:-target}/debug/reprise}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

TMP=$(mktemp -d /tmp/reprise-replica.XXXXXX)
chmod 755 "$TMP"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$TMP"; fi
PRIMARY="$TMP/primary" REPLICA="$TMP/replica" SERVER_LOG="$TMP/reprise.log"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$REPLICA" -m immediate stop >/dev/null 2>&1 || true
  as_pg "$PGBIN/pg_ctl" -D "$PRIMARY" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
  echo "read-replica: FAILED: $*" >&2
  echo "--- last lines of the server log:" >&2
  tail -n 20 "$SERVER_LOG" >&2 || true
  exit 1
}

start_pg() { # data dir, port
  as_pg "$PGBIN/pg_ctl" -D "$1" -l "$1.log" -w \
    -o "-k $TMP -p $2 -c listen_addresses='' -c fsync=off" start >/dev/null
}

echo "== primary on port $PRIMARY_PORT, replica on port $REPLICA_PORT ($TMP)"
as_pg "$PGBIN/initdb" -D "$PRIMARY" -U postgres --auth=trust -E UTF8 >/dev/null
cat >>"$PRIMARY/postgresql.conf" <<'EOF'
wal_level = replica
max_wal_senders = 4
hot_standby = on
EOF
# initdb's trust setup already admits local replication connections; say so explicitly.
echo "local replication all trust" >>"$PRIMARY/pg_hba.conf"
start_pg "$PRIMARY" "$PRIMARY_PORT"
as_pg "$PGBIN/psql" -h "$TMP" -p "$PRIMARY_PORT" -U postgres -qc "CREATE DATABASE reprise" postgres
as_pg "$PGBIN/pg_basebackup" -h "$TMP" -p "$PRIMARY_PORT" -U postgres -D "$REPLICA" -R -X stream -c fast
start_pg "$REPLICA" "$REPLICA_PORT"
[ "$(as_pg "$PGBIN/psql" -h "$TMP" -p "$REPLICA_PORT" -U postgres -Atc "SELECT pg_is_in_recovery()" postgres)" = t ] ||
  fail "the replica is not a standby"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
# The demo organization and its 60 days of answers are written on the primary; the replica
# replays them.
REPRISE_DATABASE_URL="postgres://postgres@localhost:$PRIMARY_PORT/reprise?host=$TMP" \
REPRISE_READ_DATABASE_URL="postgres://postgres@localhost:$REPLICA_PORT/reprise?host=$TMP" \
REPRISE_JWT_SECRET=replica-check-secret-replica-check-secret \
REPRISE_SECRET_KEY=0202020202020202020202020202020202020202020202020202020202020202 \
REPRISE_VAPID_PRIVATE_KEY=AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE \
REPRISE_BIND="127.0.0.1:$port" REPRISE_LOG=warn,reprise=info NO_COLOR=1 \
  "$BIN" serve --demo >"$SERVER_LOG" 2>&1 &
pid=$!
for _ in $(seq 1 240); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited"
  sleep 0.5
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] || fail "the server never got ready"
psql_at() { as_pg "$PGBIN/psql" -h "$TMP" -p "$1" -U postgres -Atc "$2" postgres; }
# Waits until the replica has replayed everything the primary has written so far.
wait_replayed() {
  local lsn
  lsn=$(psql_at "$PRIMARY_PORT" "SELECT pg_current_wal_lsn()")
  for _ in $(seq 1 100); do
    [ "$(psql_at "$REPLICA_PORT" "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
    sleep 0.1
  done
  fail "the replica did not replay up to $lsn"
}
wait_replayed
echo "ok: reprise serve --demo is up after $SECONDS s, and the replica has replayed the demo data"

login() {
  curl -sf "$url/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"demo-password\"}" | jq -r .access_token
}
analyst=$(login analyst@demo.example)
author=$(login author@demo.example)
pack=$(curl -sf "$url/api/v1/packs" -H "authorization: Bearer $author" | jq -r '.[0].slug')

# What each replica-backed route answers: "<status> <source>".
VIEWS=(
  "/api/v1/analytics/proficiency?group_by=team"
  "/api/v1/analytics/heatmap?format=csv"
  /api/v1/analytics/knowledge-gain
  /api/v1/analytics/forgetting-risk
  /api/v1/analytics/retention-curve
  /api/v1/analytics/engagement
  /api/v1/analytics/trends
  /api/v1/analytics/kpi-correlation
  /api/v1/reviews/export
  "/api/v1/xapi/statements?limit=5"
)
answer() { # path, token → "status source"
  curl -s -o /dev/null -D - "$url$1" -H "authorization: Bearer ${2:-$analyst}" |
    tr -d '\r' | awk 'NR==1 {s=$2} tolower($1)=="x-reprise-read-source:" {src=$2} END {print s, src}'
}
expect_all() { # expected source
  for view in "${VIEWS[@]}"; do
    got=$(answer "$view")
    [ "$got" = "200 $1" ] || fail "$view answered \"$got\", expected \"200 $1\""
  done
  got=$(answer "/api/v1/packs/$pack/analysis" "$author")
  [ "$got" = "200 $1" ] || fail "item analysis answered \"$got\", expected \"200 $1\""
  echo "ok: ${#VIEWS[@]} analytics views and exports and the item analysis answer 200 from the $1"
}
expect_all replica
# The views split their reads over helper connections that share the replica's snapshot.
if grep -E "cannot export the snapshot|cannot join the read" "$SERVER_LOG" >&2; then
  fail "helper connections could not share the replica's snapshot"
fi
echo "ok: helper connections shared the replica's snapshot"

# Routes that are not analytics stay on the primary (and carry no read-source header).
got=$(answer /api/v1/me)
[ "$got" = "200 " ] || fail "/api/v1/me answered \"$got\""

# A write on the primary reaches a replica-backed view once the replica has replayed it.
answers_in_export() {
  curl -sf "$url/api/v1/reviews/export" -H "authorization: Bearer $analyst" | tail -n +2 | wc -l
}
before=$(answers_in_export)
# The first demo seller with something due answers it (now, on the phone's clock).
item=null
for n in $(seq -w 1 20); do
  seller=$(login "seller$n@demo.example")
  item=$(curl -sf "$url/api/v1/me/queue" -H "authorization: Bearer $seller" | jq -c '.nuggets[0]')
  [ "$item" != null ] && break
done
[ "$item" != null ] || fail "no demo seller has anything due"
body=$(jq -c --arg attempt "$(python3 -c 'import uuid; print(uuid.uuid4())')" \
  --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  '{attempt_id: $attempt, nugget_id: .nugget_id, selected: [.options[0].id], answered_at: $at, response_ms: 4000}' <<<"$item")
status=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/me/answers" -H "authorization: Bearer $seller" \
  -H 'content-type: application/json' -d "$body")
[ "$status" = 200 ] || [ "$status" = 201 ] || fail "answering through the API gave $status"
after=$before
for _ in $(seq 1 40); do
  after=$(answers_in_export)
  [ "$after" -gt "$before" ] && break
  sleep 0.25
done
[ "$after" -gt "$before" ] || fail "the new answer never reached the replica-backed export"
[ "$(answer /api/v1/reviews/export | cut -d' ' -f2)" = replica ] || fail "the export left the replica"
echo "ok: an answer recorded on the primary shows in the replica-backed export ($before → $after rows)"

echo "== stopping the replica"
as_pg "$PGBIN/pg_ctl" -D "$REPLICA" -m immediate stop >/dev/null
expect_all primary
grep -q "read replica unavailable" "$SERVER_LOG" || fail "no warning about the replica in the server log"
grep -q "read_replica_fallbacks_total [1-9]" <(curl -s "$url/metrics") || fail "no fallback counted in /metrics"
echo "ok: the server log warns: $(grep -m1 "read replica unavailable" "$SERVER_LOG" | cut -c1-400)"

echo "== restarting the replica"
start_pg "$REPLICA" "$REPLICA_PORT"
# Reads stay on the primary for a while after a failure, then try the replica again.
for _ in $(seq 1 60); do
  [ "$(answer "/api/v1/analytics/proficiency?group_by=pack" | cut -d' ' -f2)" = replica ] && break
  sleep 0.5
done
expect_all replica
echo "read-replica: all checks passed"
