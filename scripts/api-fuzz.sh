#!/usr/bin/env bash
# API fuzzing with Schemathesis against api-spec/openapi.json and a running server.
#
# Builds the server, starts `reprise serve --demo` on a fresh SQLite file and a free loopback
# port, logs in as each demo role (admin, author, manager, analyst, seller) and runs the
# examples, coverage, fuzzing and stateful phases with every check. Exits non-zero when any
# role's run reports a failure (a 5xx, a response that does not match the spec, a valid request
# rejected, an invalid one accepted, ...). scripts/api-fuzz.toml lists the few operations whose
# rules a schema cannot express, and why.
#
# Environment:
#   API_FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   API_FUZZ_ROLES         roles to run as (default "admin author manager analyst seller")
#   API_FUZZ_SEED          a fixed seed to replay a run (default: random)
#   API_FUZZ_WORKERS       concurrent Schemathesis workers (default 1: with more, Python 3.11
#                          may fail inside Schemathesis with an AST recursion-depth error)
#   API_FUZZ_REPORT_DIR    where the per-role JUnit reports and server log go (default: a
#                          temporary directory, printed at the end)
#   CARGO_TARGET_DIR       where the server is built and the Schemathesis venv is kept
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/serve-helpers.sh
. scripts/serve-helpers.sh

SCHEMATHESIS_VERSION=4.32.5
max_examples=${API_FUZZ_MAX_EXAMPLES:-25}
roles=${API_FUZZ_ROLES:-admin author manager analyst seller}
workers=${API_FUZZ_WORKERS:-1}
target=${CARGO_TARGET_DIR:-$root/target}
started=$(date +%s)

# Schemathesis in its own venv, pinned, kept between runs.
venv="$target/api-fuzz/venv-$SCHEMATHESIS_VERSION"
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "== building the server"
cargo build --quiet --bin reprise
bin="$target/debug/reprise"

work=$(mktemp -d /tmp/reprise-api-fuzz.XXXXXX)
reports=${API_FUZZ_REPORT_DIR:-$work/reports}
mkdir -p "$reports"
port=$(free_port)
url="http://127.0.0.1:$port"
server_pid=
cleanup() {
  stop_server "$server_pid"
  if [ -z "${API_FUZZ_REPORT_DIR:-}" ] && [ -z "${keep_work:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== starting the demo server on $url"
# Throttles off: the run sends thousands of logins, sign-ups and answers as a few users from one
# address, which the login, sign-up and answer-rate limits would rightly refuse.
REPRISE_DATABASE_URL="sqlite://$work/fuzz.db" \
REPRISE_BIND="127.0.0.1:$port" \
REPRISE_LOG=warn \
REPRISE_ACCESS_TOKEN_TTL_SECS=86400 \
REPRISE_LOGIN_BURST_PER_ACCOUNT=100000 \
REPRISE_LOGIN_BURST_PER_ADDRESS=100000 \
REPRISE_SIGNUP_BURST_PER_ADDRESS=100000 \
REPRISE_ANSWER_BURST=0 \
  "$bin" serve --demo >"$reports/server.log" 2>&1 &
server_pid=$!
wait_ready "$url" "$server_pid" "$reports/server.log"

# Every role logs in before any run: a run as admin may change other accounts, and access
# tokens stay valid for their lifetime whatever happens to the account afterwards.
declare -A tokens
for role in $roles; do
  case $role in
    seller) email=seller01@demo.example ;;
    *) email=$role@demo.example ;;
  esac
  tokens[$role]=$(curl -sf "$url/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"demo-password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
done

failed=()
for role in $roles; do
  echo
  echo "== schemathesis as $role (max examples $max_examples)"
  seed_args=()
  if [ -n "${API_FUZZ_SEED:-}" ]; then seed_args=(--seed "$API_FUZZ_SEED"); fi
  # Bodies of binary media types (pitch recordings): scripts/api_fuzz_media.py.
  if ! (cd "$work" && PYTHONPATH="$root/scripts" SCHEMATHESIS_HOOKS=api_fuzz_media \
    "$venv/bin/schemathesis" --config-file "$root/scripts/api-fuzz.toml" \
    run "$root/api-spec/openapi.json" \
    --url "$url" \
    --header "Authorization: Bearer ${tokens[$role]}" \
    --phases examples,coverage,fuzzing,stateful \
    --checks all \
    --max-examples "$max_examples" \
    --workers "$workers" \
    --generation-database none \
    --no-color \
    --report junit --report-junit-path "$reports/$role.xml" \
    "${seed_args[@]}"); then
    failed+=("$role")
  fi
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server died during the run; its log: $reports/server.log" >&2
  failed+=("server")
fi
elapsed=$(($(date +%s) - started))
echo
if [ ${#failed[@]} -gt 0 ]; then
  keep_work=1
  echo "api-fuzz: FAILED as ${failed[*]} in ${elapsed}s; reports and server log in $reports" >&2
  exit 1
fi
echo "api-fuzz: no failures as $roles in ${elapsed}s (max examples $max_examples)"
