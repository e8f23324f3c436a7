#!/usr/bin/env bash
# A local OpenID provider for trying single sign-on with the demo organization: panva's
# oidc-provider (OpenID Certified), as the API tests run it (tests/oidc/provider.mjs), with one
# client for the demo and the demo's staff described by a role claim. Nobody types a password
# there: it signs in the address typed on Reprise's sign-in page. Stop it with Ctrl-C.
#
#   bash scripts/dev-oidc.sh          provider on http://127.0.0.1:9400 (OIDC_PORT to change)
#
# Steps: docs/identity.md, "Try it locally". Needs node (20 or later) and npm.
set -euo pipefail
cd "$(dirname "$0")/../tests/oidc"
[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund

port=${OIDC_PORT:-9400}
public_url=${REPRISE_PUBLIC_URL:-http://localhost:8080}
export OIDC_PORT=$port
export OIDC_CLIENT_ID=reprise-demo
export OIDC_CLIENT_SECRET=reprise-demo-secret
export OIDC_REDIRECT_URI="${public_url%/}/api/v1/auth/sso/callback"

node provider.mjs &
provider=$!
trap 'kill "$provider" 2>/dev/null || true' EXIT INT TERM
issuer="http://127.0.0.1:$port"
for _ in $(seq 50); do
  curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null 2>&1 && break
  sleep 0.2
done

# The demo's staff keep their roles through the role claim; sellers get the default role.
curl -fsS -X POST -H 'content-type: application/json' "$issuer/test/accounts" -d '{
  "admin@demo.example": {"name": "Demo Admin", "role": "admin"},
  "author@demo.example": {"name": "Demo Author", "role": "author"},
  "manager@demo.example": {"name": "Demo Manager", "role": "manager"},
  "analyst@demo.example": {"name": "Demo Analyst", "role": "analyst"}
}'

cat <<TEXT

OpenID provider:  $issuer
client_id:        $OIDC_CLIENT_ID
client_secret:    $OIDC_CLIENT_SECRET
redirect URI:     $OIDC_REDIRECT_URI

Connect the demo organization (as its admin):

  token=\$(curl -s $public_url/api/v1/auth/login -H 'content-type: application/json' \\
    -d '{"email":"admin@demo.example","password":"demo-password"}' | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')
  curl -s -X PUT $public_url/api/v1/org/sso -H "authorization: Bearer \$token" \\
    -H 'content-type: application/json' -d '{"protocol":"oidc","issuer":"$issuer",
    "client_id":"$OIDC_CLIENT_ID","client_secret":"$OIDC_CLIENT_SECRET",
    "email_domains":["demo.example"],"default_role":"learner","role_claim":"reprise_role",
    "role_map":{"admin":"admin","author":"author","manager":"manager","analyst":"analyst"},
    "allow_password_login":true}'

Then open $public_url/ and enter a demo.example address under "Company account".
TEXT
wait "$provider"
